namespace TurboGen.Text;

/// <summary>
/// The "sloppy" Windows-1252 reading of bytes 0x80..0x9F used both by ftfy's <c>fix_c1_controls</c> and by Python's
/// <c>html.unescape</c> for numeric references in that range: defined positions give their Windows-1252 character, the five
/// undefined ones (0x81, 0x8D, 0x8F, 0x90, 0x9D) stay as the same C1 code point.
/// </summary>
internal static class Windows1252
{
    private const string C1Characters =
        "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
        "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    /// <summary>The character for code point 0x80..0x9F.</summary>
    public static char C1ToChar(int codePoint) => C1Characters[codePoint - 0x80];
}

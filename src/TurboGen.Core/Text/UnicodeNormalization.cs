using System.Text;

namespace TurboGen.Text;

/// <summary>
/// The two Unicode normalisations ftfy applies to prompts: NFC of the whole text, and NFKC of fullwidth/halfwidth
/// forms (ftfy's <c>fix_character_width</c>). Both come from .NET's <see cref="string.Normalize(NormalizationForm)"/>
/// (ICU on Linux/macOS, NLS on Windows); the tests pin them to Python's unicodedata results.
/// </summary>
internal static class UnicodeNormalization
{
    /// <summary>NFC of <paramref name="text"/>; text with unpaired surrogates (which .NET refuses to normalise) is returned unchanged.</summary>
    public static string ToNfc(string text)
    {
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\u02FF'))
        {
            return text; // nothing below U+0300 decomposes, reorders or composes
        }
        try
        {
            return text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return text;
        }
    }

    /// <summary>NFKC of one fullwidth/halfwidth form character (U+FF01–U+FFEF), e.g. 'Ａ' → "A".</summary>
    public static string WidthForm(char c) => c.ToString().Normalize(NormalizationForm.FormKC);
}

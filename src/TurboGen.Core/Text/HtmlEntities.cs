using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace TurboGen.Text;

/// <summary>
/// HTML character-reference decoding with the exact rules of the two decoders in CLIP's text cleaning:
/// <see cref="Unescape"/> behaves like Python's <c>html.unescape</c> (HTML5 named references, legacy names without ';',
/// longest-prefix matching, numeric references with the HTML5 replacement rules) and <see cref="UnescapeLikeFtfy"/> like
/// ftfy's <c>unescape_html</c> fix (only complete <c>&amp;name;</c> / <c>&amp;#n;</c> references, plus upper-cased names such as
/// <c>&amp;NTILDE;</c>). The named-reference table is the HTML5 one, embedded as <c>Html5Entities.txt</c>.
/// </summary>
internal static partial class HtmlEntities
{
    private static readonly Lazy<Dictionary<string, string>> Named = new(LoadNamedReferences);

    /// <summary>Python <c>html.unescape</c>.</summary>
    public static string Unescape(string text)
    {
        if (!text.Contains('&'))
        {
            return text;
        }
        return PythonReferenceRegex().Replace(text, match => DecodePythonReference(match.Groups[1].Value));
    }

    /// <summary>ftfy 6.1 <c>unescape_html</c>: decodes only well-formed references ending in ';'.</summary>
    public static string UnescapeLikeFtfy(string text)
    {
        if (!text.Contains('&'))
        {
            return text;
        }
        return FtfyReferenceRegex().Replace(text, match => DecodeFtfyReference(match.Value));
    }

    // Python's html._charref pattern.
    [GeneratedRegex(@"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)", RegexOptions.CultureInvariant)]
    private static partial Regex PythonReferenceRegex();

    // ftfy's HTML_ENTITY_RE.
    [GeneratedRegex(@"&#?[0-9A-Za-z]{1,24};", RegexOptions.CultureInvariant)]
    private static partial Regex FtfyReferenceRegex();

    private static string DecodePythonReference(string reference)
    {
        if (reference[0] == '#')
        {
            bool hex = reference[1] is 'x' or 'X';
            string digits = reference[(hex ? 2 : 1)..].TrimEnd(';');
            return DecodeCodePoint(digits, hex);
        }

        Dictionary<string, string> named = Named.Value;
        if (named.TryGetValue(reference, out string? value))
        {
            return value;
        }
        // Longest prefix that is a named reference (only the legacy names without ';' can match here).
        for (int length = reference.Length - 1; length > 1; length--)
        {
            if (named.TryGetValue(reference[..length], out value))
            {
                return value + reference[length..];
            }
        }
        return "&" + reference;
    }

    private static string DecodeCodePoint(string digits, bool hex)
    {
        // Values too large for a long are far above U+10FFFF; Python returns U+FFFD for them.
        bool parsed = long.TryParse(digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out long number);
        if (!parsed || number > 0x10FFFF)
        {
            return "\uFFFD";
        }
        int codePoint = (int)number;
        if (codePoint == 0)
        {
            return "\uFFFD";
        }
        if (codePoint == 0x0D)
        {
            return "\r";
        }
        if (codePoint is >= 0x80 and <= 0x9F)
        {
            return Windows1252.C1ToChar(codePoint).ToString();
        }
        if (codePoint is >= 0xD800 and <= 0xDFFF)
        {
            return "\uFFFD";
        }
        if (IsInvalidCodePoint(codePoint))
        {
            return "";
        }
        return char.ConvertFromUtf32(codePoint);
    }

    // Python's html._invalid_codepoints (the C1 range is handled before this is called).
    private static bool IsInvalidCodePoint(int codePoint) =>
        codePoint is >= 0x1 and <= 0x8 or 0xB or >= 0xE and <= 0x1F or 0x7F or >= 0xFDD0 and <= 0xFDEF
        || (codePoint & 0xFFFE) == 0xFFFE;

    private static string DecodeFtfyReference(string reference)
    {
        Dictionary<string, string> named = Named.Value;
        string name = reference[1..];
        if (named.TryGetValue(name, out string? value))
        {
            return value;
        }

        // ftfy also decodes an all-lowercase entity whose name was upper-cased (&NTILDE; -> Ñ), unless html.unescape
        // already gives the upper-case spelling a meaning of its own.
        string lower = name.ToLowerInvariant();
        if (name != lower && name == lower.ToUpperInvariant() && named.TryGetValue(lower, out value) && Unescape(reference) == reference)
        {
            return PythonUpper(value);
        }

        if (reference.StartsWith("&#", StringComparison.Ordinal))
        {
            string unescaped = Unescape(reference);
            return unescaped.Contains(';') ? reference : unescaped;
        }
        return reference;
    }

    // str.upper for entity values: the few characters whose full upper-case mapping is longer than one character.
    private static string PythonUpper(string value) => value switch
    {
        "ß" => "SS",
        "ŉ" => "ʼN",
        "ﬀ" => "FF",
        "ﬁ" => "FI",
        "ﬂ" => "FL",
        "ﬃ" => "FFI",
        "ﬄ" => "FFL",
        _ => value.ToUpperInvariant(),
    };

    private static Dictionary<string, string> LoadNamedReferences()
    {
        Assembly assembly = typeof(HtmlEntities).Assembly;
        const string resource = "TurboGen.Text.Html5Entities.txt";
        using Stream stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var table = new Dictionary<string, string>(2300, StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int tab = line.IndexOf('\t');
            var value = new StringBuilder(2);
            foreach (string hex in line[(tab + 1)..].Split(' '))
            {
                value.Append(char.ConvertFromUtf32(int.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)));
            }
            table[line[..tab]] = value.ToString();
        }
        return table;
    }
}

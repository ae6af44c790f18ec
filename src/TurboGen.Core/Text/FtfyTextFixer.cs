using System.Text;
using System.Text.RegularExpressions;

namespace TurboGen.Text;

/// <summary>
/// The part of ftfy 6.1's default <c>fix_text</c> that matters for prompts, applied in ftfy's order and repeated per line until
/// the text stops changing, as ftfy does:
/// <c>unescape_html</c> (only while no line so far contained '&lt;'), <c>fix_c1_controls</c>, <c>fix_latin_ligatures</c>,
/// <c>fix_character_width</c>, <c>uncurl_quotes</c>, <c>fix_line_breaks</c>, <c>fix_surrogates</c>, <c>remove_terminal_escapes</c>,
/// <c>remove_control_chars</c>, then NFC normalisation.
/// Not implemented: <c>fix_encoding</c> (mojibake repair, with its <c>restore_byte_a0</c>, <c>replace_lossy_sequences</c> and
/// <c>decode_inconsistent_utf8</c> heuristics), so text that is already mojibake (e.g. "cafÃ©") is tokenized as written.
/// </summary>
internal static partial class FtfyTextFixer
{
    private static readonly Dictionary<char, string> Ligatures = new()
    {
        ['Ĳ'] = "IJ", ['ĳ'] = "ij", ['ŉ'] = "ʼn",
        ['Ǳ'] = "DZ", ['ǲ'] = "Dz", ['ǳ'] = "dz", ['Ǆ'] = "DŽ", ['ǅ'] = "Dž", ['ǆ'] = "dž",
        ['Ǉ'] = "LJ", ['ǈ'] = "Lj", ['ǉ'] = "lj", ['Ǌ'] = "NJ", ['ǋ'] = "Nj", ['ǌ'] = "nj",
        ['ﬀ'] = "ff", ['ﬁ'] = "fi", ['ﬂ'] = "fl", ['ﬃ'] = "ffi", ['ﬄ'] = "ffl", ['ﬅ'] = "ſt", ['ﬆ'] = "st",
    };

    /// <summary>ftfy <c>fix_text</c> with the fixes listed on the class.</summary>
    public static string FixText(string text)
    {
        var output = new StringBuilder(text.Length);
        bool unescapeHtml = true;
        int position = 0;
        while (position < text.Length)
        {
            int newline = text.IndexOf('\n', position);
            int end = newline < 0 ? text.Length : newline + 1;
            string segment = text[position..end];
            if (segment.Contains('<'))
            {
                // ftfy's "auto" HTML mode: text that looks like HTML is not unescaped, from this line on.
                unescapeHtml = false;
            }
            output.Append(FixSegment(segment, unescapeHtml));
            position = end;
        }
        return output.ToString();
    }

    private static string FixSegment(string text, bool unescapeHtml)
    {
        while (true)
        {
            string original = text;
            if (unescapeHtml)
            {
                text = HtmlEntities.UnescapeLikeFtfy(text);
            }
            text = FixC1Controls(text);
            text = FixLatinLigatures(text);
            text = FixCharacterWidth(text);
            text = UncurlQuotes(text);
            text = FixLineBreaks(text);
            text = FixSurrogates(text);
            text = RemoveTerminalEscapes(text);
            text = RemoveControlChars(text);
            text = UnicodeNormalization.ToNfc(text);
            if (text == original)
            {
                return text;
            }
        }
    }

    /// <summary>C1 control characters U+0080..U+009F are read as the Windows-1252 characters they most likely were.</summary>
    public static string FixC1Controls(string text) =>
        MapChars(text, c => c is >= '\u0080' and <= '\u009F' ? Windows1252.C1ToChar(c).ToString() : null);

    /// <summary>Latin typographic ligatures (ﬁ, ﬂ, ...) and legacy digraph characters (Ǳ, ĳ, ...) become their letters.</summary>
    public static string FixLatinLigatures(string text) =>
        MapChars(text, c => Ligatures.TryGetValue(c, out string? letters) ? letters : null);

    /// <summary>Fullwidth and halfwidth forms (U+FF01..U+FFEF) become their NFKC form; U+3000 ideographic space becomes a space.</summary>
    public static string FixCharacterWidth(string text) =>
        MapChars(text, c => c == '\u3000' ? " " : c is >= '\uFF01' and <= '\uFFEF' ? UnicodeNormalization.WidthForm(c) : null);

    /// <summary>Curly quotes become straight: U+02BC and U+2018..U+201B to <c>'</c>, U+201C..U+201F to <c>"</c>.</summary>
    public static string UncurlQuotes(string text) =>
        MapChars(text, c => c switch
        {
            '\u02BC' or (>= '\u2018' and <= '\u201B') => "'",
            >= '\u201C' and <= '\u201F' => "\"",
            _ => null,
        });

    /// <summary>CRLF, CR, U+2028, U+2029 and U+0085 become LF.</summary>
    public static string FixLineBreaks(string text)
    {
        if (text.AsSpan().IndexOfAny("\r\u2028\u2029\u0085") < 0)
        {
            return text;
        }
        return text.Replace("\r\n", "\n", StringComparison.Ordinal)
            .Replace('\r', '\n')
            .Replace('\u2028', '\n')
            .Replace('\u2029', '\n')
            .Replace('\u0085', '\n');
    }

    /// <summary>Unpaired UTF-16 surrogates become U+FFFD (paired ones already are the characters ftfy would produce).</summary>
    public static string FixSurrogates(string text)
    {
        StringBuilder? output = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool paired = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (paired)
            {
                output?.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
            {
                output ??= new StringBuilder(text, 0, i, text.Length);
                output.Append('\uFFFD');
                continue;
            }
            output?.Append(c);
        }
        return output?.ToString() ?? text;
    }

    /// <summary>ANSI terminal escapes such as ESC[31m are removed.</summary>
    public static string RemoveTerminalEscapes(string text) =>
        text.Contains('\u001B') ? TerminalEscapeRegex().Replace(text, "") : text;

    /// <summary>
    /// Removes U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF and U+FFF9..U+FFFC
    /// (tab, LF, FF and CR are kept).
    /// </summary>
    public static string RemoveControlChars(string text) =>
        MapChars(text, c => IsRemovedControl(c) ? "" : null);

    private static bool IsRemovedControl(char c) =>
        c is <= '\u0008' or '\u000B' or (>= '\u000E' and <= '\u001F') or '\u007F'
            or (>= '\u206A' and <= '\u206F') or '\uFEFF' or (>= '\uFFF9' and <= '\uFFFC');

    [GeneratedRegex(@"\u001B\[(?:\d|;)*[a-zA-Z]", RegexOptions.CultureInvariant)]
    private static partial Regex TerminalEscapeRegex();

    /// <summary>Replaces each char for which <paramref name="map"/> returns a string; allocates only when something changes.</summary>
    private static string MapChars(string text, Func<char, string?> map)
    {
        StringBuilder? output = null;
        for (int i = 0; i < text.Length; i++)
        {
            string? replacement = map(text[i]);
            if (replacement is not null)
            {
                output ??= new StringBuilder(text, 0, i, text.Length + 8);
                output.Append(replacement);
            }
            else
            {
                output?.Append(text[i]);
            }
        }
        return output?.ToString() ?? text;
    }
}

using System.Globalization;
using System.Text;

namespace TurboGen.Text;

/// <summary>
/// CLIP's prompt cleaning (<c>simple_tokenizer.py</c>): ftfy <c>fix_text</c> (the subset in <see cref="FtfyTextFixer"/>),
/// Python <c>html.unescape</c> twice, strip, whitespace runs to one space, strip, Python <c>str.lower()</c>.
/// </summary>
internal static class ClipTextCleaner
{
    public static string Clean(string text)
    {
        string fixedText = FtfyTextFixer.FixText(text);
        string unescaped = HtmlEntities.Unescape(HtmlEntities.Unescape(fixedText));
        return PythonLower(CollapseWhitespace(unescaped));
    }

    /// <summary>Python's <c>str.isspace()</c>: Unicode white space plus the information separators U+001C..U+001F.</summary>
    public static bool IsPythonWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary><c>re.sub(r'\s+', ' ', text.strip()).strip()</c>.</summary>
    public static string CollapseWhitespace(string text)
    {
        var output = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (char c in text)
        {
            if (IsPythonWhiteSpace(c))
            {
                pendingSpace = output.Length > 0;
                continue;
            }
            if (pendingSpace)
            {
                output.Append(' ');
                pendingSpace = false;
            }
            output.Append(c);
        }
        return output.ToString();
    }

    /// <summary>
    /// Python's <c>str.lower()</c>: simple lower-case mapping, except U+0130 (İ → "i̇") and the Greek capital sigma, which becomes
    /// final ς at the end of a word (preceded by a cased letter and not followed by one, skipping case-ignorable characters).
    /// </summary>
    public static string PythonLower(string text)
    {
        var output = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\u0130')
            {
                output.Append("i\u0307");
            }
            else if (c == '\u03A3')
            {
                output.Append(IsFinalSigma(text, i) ? '\u03C2' : '\u03C3');
            }
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var rune = new Rune(c, text[i + 1]);
                output.Append(Rune.ToLowerInvariant(rune).ToString());
                i++;
            }
            else
            {
                output.Append(char.ToLowerInvariant(c));
            }
        }
        return output.ToString();
    }

    private static bool IsFinalSigma(string text, int index)
    {
        int before = index - 1;
        while (before >= 0 && IsCaseIgnorable(text[before]))
        {
            before--;
        }
        if (before < 0 || !IsCased(text[before]))
        {
            return false;
        }
        int after = index + 1;
        while (after < text.Length && IsCaseIgnorable(text[after]))
        {
            after++;
        }
        return after == text.Length || !IsCased(text[after]);
    }

    private static bool IsCased(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) =>
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || c is '\'' or '.' or ':' or '\u00B7' or '\u2018' or '\u2019' or '\u2024' or '\u2027' or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A';
}

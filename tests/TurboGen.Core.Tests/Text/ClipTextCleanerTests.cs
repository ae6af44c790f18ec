using TurboGen.Testing;
using TurboGen.Text;

namespace TurboGen.Core.Tests.Text;

/// <summary>
/// Cleaning and ids for inputs beyond the golden file. Expected values were produced with openai/CLIP simple_tokenizer.py and
/// ftfy 6.1.1 (the same reference as the golden file).
/// </summary>
public sealed class ClipTextCleanerTests
{
    private static readonly Lazy<ClipTokenizer> Tokenizer = new(() => ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 0));

    [Theory]
    // Latin ligatures and digraphs.
    [InlineData("\uFB01ne \uFB02ower \u0133ssel \u01C5", "fine flower ijssel d\u017E", new[] { 3797, 4055, 7337, 19373, 67, 129, 378 })]
    // Terminal escapes and control characters.
    [InlineData("\u001B[31mred\u001B[0m text\u0007\u007F", "red text", new[] { 736, 4160 })]
    // Curly quotes.
    [InlineData("it\u2019s \u201Cquoted\u201D \u2018x\u2019", "it's \"quoted\" 'x'", new[] { 585, 568, 257, 27706, 257, 262, 343, 262 })]
    // html.unescape rules: double unescaping, legacy names without ';', longest prefix, numeric replacements.
    [InlineData("&amp;amp;lt; &ampfoo &notit; &#128; &#0;x &NTILDE; &copy2024", "< &foo \u00ACit; \u20AC \uFFFDx \u00F1 \u00A92024",
        new[] { 283, 261, 23435, 126, 361, 585, 282, 6309, 39802, 343, 127, 365, 5811, 273, 271, 273, 275 })]
    // ftfy does not unescape once a line contains '<': the quote decoded later by html.unescape stays curly.
    [InlineData("line1 &rsquo;\nline2 < &rsquo;\nline3 &rsquo;", "line1 ' line2 < \u2019 line3 \u2019",
        new[] { 1148, 272, 262, 1148, 273, 283, 728, 503, 1148, 274, 728, 503 })]
    // Python lower(): final sigma and dotted capital I.
    [InlineData("\u03A3\u0391\u03A3 \u0391\u03A3. \u03A3", "\u03C3\u03B1\u03C2 \u03B1\u03C2. \u03C3", new[] { 139, 225, 138, 109, 139, 480, 138, 109, 139, 480, 269, 139, 481 })]
    [InlineData("\u0130stanbul", "i\u0307stanbul", new[] { 328, 16384, 11231 })]
    // Halfwidth katakana (with a separate voiced mark) and fullwidth ASCII.
    [InlineData("\uFF76\uFF9E\uFF77\uFF9E \uFF21\uFF22\uFF23\uFF11\uFF12\uFF13\uFF01", "\u30AC\u30AE abc123!", new[] { 3909, 105, 3909, 362, 5334, 272, 273, 274, 256 })]
    // Unicode spaces and line breaks; U+0085 is read as Windows-1252 (an ellipsis) before line breaks are fixed.
    [InlineData("a\u3000b\u00A0c\u2028d\r\ne\u0085f", "a b c d e\u2026f", new[] { 320, 321, 322, 323, 324, 959, 325 })]
    // BOM removed; zero-width space and U+2066 are not among ftfy's removed characters.
    [InlineData("\uFEFFzero\u200Bwidth\u2066x", "zero\u200Bwidth\u2066x", new[] { 5848, 9844, 23571, 34855, 343 })]
    [InlineData("&#x1F600; &#xD800; &#1114112; &bigstar;", "\U0001F600 \uFFFD \uFFFD \u2605", new[] { 7334, 39802, 39802, 10643 })]
    // C1 controls read as Windows-1252 curly quotes, then uncurled.
    [InlineData("\u0093hi\u0094 \u0080 5", "\"hi\" \u20AC 5", new[] { 257, 1883, 257, 6309, 276 })]
    // Special-token text is only special where a regex match starts: after punctuation it is ordinary punctuation and letters.
    [InlineData("!<|endoftext|>", "!<|endoftext|>", new[] { 0, 27, 347, 40786, 4160, 91, 285 })]
    [InlineData("a.<|startoftext|>b", "a.<|startoftext|>b", new[] { 320, 13, 27, 347, 993, 6659, 4160, 91, 285, 321 })]
    [InlineData("x<|endoftext|>y", "x<|endoftext|>y", new[] { 343, 49407, 344 })]
    [InlineData("<|endoftext|><|endoftext|>!", "<|endoftext|><|endoftext|>!", new[] { 49407, 49407, 256 })]
    [InlineData("<|endoftext|", "<|endoftext|", new[] { 27, 347, 40786, 4160, 347 })]
    public void MatchesReference(string prompt, string cleaned, int[] bpeIds)
    {
        Assert.Equal(cleaned, ClipTokenizer.CleanText(prompt));
        Assert.Equal(bpeIds, Tokenizer.Value.EncodeBpe(prompt));
    }

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters()
    {
        Assert.Equal("a\uFFFDb\uFFFD", ClipTokenizer.CleanText("a\uD800b\uDC00"));
        Assert.Equal(new[] { 320, 39802, 321, 39802 }, Tokenizer.Value.EncodeBpe("a\uD800b\uDC00"));
    }

    [Fact]
    public void EmptyAndWhitespaceOnlyPromptsGiveBosEos()
    {
        TokenizedPrompt prompt = Tokenizer.Value.Encode(" \t\n\u3000 ");
        Assert.Equal(0, prompt.TokenCount);
        Assert.Equal(1, prompt.EosIndex);
        Assert.Equal(new[] { 49406, 49407, 0 }, prompt.Ids[..3]);
    }
}

using TurboGen.Text;

namespace TurboGen.Core.Tests.Text;

/// <summary>NFC/NFKC through .NET (ICU) must match Python's unicodedata.normalize.</summary>
public sealed class UnicodeNormalizationTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]                              // composition
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]                   // Hangul L + V + T
    [InlineData("a\u0301\u0328", "\u0105\u0301")]                  // canonical reordering, then composition
    [InlineData("\u1E0B\u0323", "\u1E0D\u0307")]                   // decompose, reorder, recompose differently
    [InlineData("\u0958", "\u0915\u093C")]                         // composition exclusion
    [InlineData("\u212B", "\u00C5")]                               // singleton decomposition
    [InlineData("\u0B47\u0B3E", "\u0B4B")]                         // two starters compose
    [InlineData("\u0344", "\u0308\u0301")]                         // non-starter decomposition
    [InlineData("\U0001D15E", "\U0001D157\U0001D165")]             // supplementary plane, excluded
    [InlineData("plain ascii", "plain ascii")]
    public void ToNfcMatchesPython(string input, string expected) => Assert.Equal(expected, UnicodeNormalization.ToNfc(input));

    [Fact]
    public void DecomposedPromptTokenizesLikeComposedOne() =>
        Assert.Equal(ClipTokenizer.CleanText("caf\u00E9"), ClipTokenizer.CleanText("cafe\u0301"));

    [Theory]
    [InlineData('\uFF21', "A")]
    [InlineData('\uFF76', "\u30AB")]
    [InlineData('\uFFE5', "\u00A5")]
    public void WidthFormsAreNfkc(char c, string expected) => Assert.Equal(expected, UnicodeNormalization.WidthForm(c));
}

using TurboGen.Testing;
using TurboGen.Text;

namespace TurboGen.Core.Tests.Text;

public sealed class ClipTokenizerGoldenTests
{
    private static readonly Lazy<ClipTokenizer> PadEos = new(() => ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 49407));
    private static readonly Lazy<ClipTokenizer> PadZero = new(() => ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 0));

    public static TheoryData<int> Cases() => ClipGoldenCase.Indices();

    [Fact]
    public void GoldenFileHasThirtyCases() => Assert.Equal(30, ClipGoldenCase.All.Count);

    [Theory]
    [MemberData(nameof(Cases))]
    public void CleanTextMatchesReference(int index)
    {
        ClipGoldenCase c = ClipGoldenCase.All[index];
        Assert.Equal(c.CleanedText, ClipTokenizer.CleanText(c.Prompt));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BpeIdsMatchReference(int index)
    {
        ClipGoldenCase c = ClipGoldenCase.All[index];
        Assert.Equal(c.BpeIds, PadEos.Value.EncodeBpe(c.Prompt));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PaddedWithEosMatchesReference(int index)
    {
        ClipGoldenCase c = ClipGoldenCase.All[index];
        TokenizedPrompt prompt = PadEos.Value.Encode(c.Prompt);
        Assert.Equal(c.IdsPadEos, prompt.Ids);
        Assert.Equal(c.Truncated, prompt.Truncated);
        Assert.Equal(c.EosIndex, prompt.EosIndex);
        Assert.Equal(c.NumBpeTokens, prompt.TokenCount);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PaddedWithZeroMatchesReference(int index)
    {
        ClipGoldenCase c = ClipGoldenCase.All[index];
        TokenizedPrompt prompt = PadZero.Value.Encode(c.Prompt);
        Assert.Equal(c.IdsPadZero, prompt.Ids);
        Assert.Equal(c.Truncated, prompt.Truncated);
        Assert.Equal(c.EosIndex, prompt.EosIndex);
        Assert.Equal(c.NumBpeTokens, prompt.TokenCount);
    }

    [Fact]
    public void KnownIdsForAPhotoOfACat()
    {
        TokenizedPrompt prompt = PadEos.Value.Encode("a photo of a cat");
        Assert.Equal(new[] { 49406, 320, 1125, 539, 320, 2368, 49407 }, prompt.Ids[..7]);
        Assert.All(prompt.Ids[7..], id => Assert.Equal(49407, id));
        Assert.Equal(77, prompt.Ids.Length);

        TokenizedPrompt second = PadZero.Value.Encode("a photo of a cat");
        Assert.Equal(new[] { 49406, 320, 1125, 539, 320, 2368, 49407 }, second.Ids[..7]);
        Assert.All(second.Ids[7..], id => Assert.Equal(0, id));
    }

    [Fact]
    public void KnownIdsFromOtherReferences()
    {
        Assert.Equal(new[] { 320, 1125, 539, 320, 1929 }, PadEos.Value.EncodeBpe("a photo of a dog"));
        Assert.Equal(new[] { 550, 18376, 6765, 320, 4558 }, PadEos.Value.EncodeBpe("An astronaut riding a horse"));
    }

    [Fact]
    public void SpecialIdsAndLength()
    {
        ClipTokenizer tokenizer = PadZero.Value;
        Assert.Equal(49406, tokenizer.BosId);
        Assert.Equal(49407, tokenizer.EosId);
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(77, tokenizer.MaxLength);
    }

    [Fact]
    public void ShorterMaxLengthTruncatesAndKeepsEos()
    {
        ClipTokenizer tokenizer = ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 0, maxLength: 5);
        TokenizedPrompt prompt = tokenizer.Encode("a photo of a cat");
        Assert.Equal(new[] { 49406, 320, 1125, 539, 49407 }, prompt.Ids);
        Assert.True(prompt.Truncated);
        Assert.Equal(5, prompt.TokenCount);
        Assert.Equal(4, prompt.EosIndex);
    }

    [Fact]
    public void RepeatedEncodingGivesEqualResults()
    {
        // The per-word BPE cache must not change results between calls.
        ClipTokenizer tokenizer = PadEos.Value;
        string prompt = ClipGoldenCase.All[^5].Prompt;
        int[] first = tokenizer.Encode(prompt).Ids;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(first, tokenizer.Encode(prompt).Ids);
        }
    }

    [Fact]
    public void ConcurrentEncodingMatchesReference()
    {
        ClipTokenizer tokenizer = ClipTokenizer.FromBpeVocabGz(TestPaths.ClipBpeVocabGz, padId: 49407);
        IReadOnlyList<ClipGoldenCase> cases = ClipGoldenCase.All;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, cases.Count * 20, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            ClipGoldenCase c = cases[i % cases.Count];
            if (!tokenizer.Encode(c.Prompt).Ids.SequenceEqual(c.IdsPadEos))
            {
                failures.Add(c.Prompt);
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void OverlongPromptIsAnInvalidRequest()
    {
        TokenizedPrompt longest = PadEos.Value.Encode(new string('x', ClipTokenizer.MaxPromptLength));
        Assert.Equal(ClipTokenizer.MaxPromptLength / 4, longest.TokenCount); // "xxxx" is one token
        Assert.True(longest.Truncated);
        var error = Assert.Throws<InvalidRequestException>(() => PadEos.Value.Encode(new string('x', ClipTokenizer.MaxPromptLength + 1)));
        Assert.Equal("prompt", error.Parameter);
    }
}

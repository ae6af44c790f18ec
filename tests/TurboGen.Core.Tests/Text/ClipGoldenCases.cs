using System.Text.Json;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Text;

/// <summary>The reference cases in golden/tokenizer/tokenizer_cases.json (openai/CLIP simple_tokenizer + ftfy 6.1.1).</summary>
public sealed record ClipGoldenCase(
    string Prompt, string CleanedText, int[] BpeIds, int NumBpeTokens, bool Truncated, int[] IdsPadEos, int[] IdsPadZero, int EosIndex)
{
    private static readonly Lazy<IReadOnlyList<ClipGoldenCase>> Cases = new(Load);

    public static IReadOnlyList<ClipGoldenCase> All => Cases.Value;

    /// <summary>Case indices for xunit theories (the data itself is looked up by index so test names stay short).</summary>
    public static TheoryData<int> Indices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < All.Count; i++)
        {
            data.Add(i);
        }
        return data;
    }

    private static List<ClipGoldenCase> Load()
    {
        string path = Path.Combine(TestPaths.GoldenCase("tokenizer"), "tokenizer_cases.json");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        var cases = new List<ClipGoldenCase>();
        foreach (JsonElement c in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            cases.Add(new ClipGoldenCase(
                c.GetProperty("prompt").GetString()!,
                c.GetProperty("cleaned_text").GetString()!,
                Ints(c.GetProperty("bpe_ids")),
                c.GetProperty("num_bpe_tokens").GetInt32(),
                c.GetProperty("truncated").GetBoolean(),
                Ints(c.GetProperty("ids_pad_eos")),
                Ints(c.GetProperty("ids_pad_zero")),
                c.GetProperty("eos_index").GetInt32()));
        }
        return cases;
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}

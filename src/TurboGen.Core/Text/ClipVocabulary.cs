using System.IO.Compression;
using System.Text;

namespace TurboGen.Text;

/// <summary>
/// The CLIP BPE vocabulary in memory: token strings indexed by id and the merge rules in rank order.
/// Built from openai's <c>bpe_simple_vocab_16e6.txt.gz</c> exactly as CLIP's <c>SimpleTokenizer</c> does:
/// 256 byte characters, the same 256 with <c>&lt;/w&gt;</c>, one token per merge (lines 1 .. 48,894 of the file), then
/// <c>&lt;|startoftext|&gt;</c> = 49406 and <c>&lt;|endoftext|&gt;</c> = 49407.
/// </summary>
internal sealed class ClipVocabulary
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";
    public const string EndOfWord = "</w>";

    /// <summary>Number of merges CLIP uses: 49152 - 256 - 2.</summary>
    public const int MergeCount = 49152 - 256 - 2;

    public ClipVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<string> merges)
    {
        Tokens = tokens;
        Merges = merges;
    }

    /// <summary>Token string for each id (index = id).</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Merge rules "left right", lowest rank first.</summary>
    public IReadOnlyList<string> Merges { get; }

    /// <summary>Reads openai's gzip text file; a missing, truncated or malformed file gives a <see cref="ModelLoadException"/>.</summary>
    public static ClipVocabulary FromBpeVocabGz(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"CLIP BPE vocabulary not found: {path} (expected openai's bpe_simple_vocab_16e6.txt.gz).");
        }

        string[] lines;
        try
        {
            using var file = File.OpenRead(path);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, new UTF8Encoding(false, throwOnInvalidBytes: true));
            lines = reader.ReadToEnd().Split('\n');
        }
        catch (Exception e) when (e is InvalidDataException or IOException or DecoderFallbackException)
        {
            throw new ModelLoadException(path, $"Cannot read the CLIP BPE vocabulary {path} as gzip-compressed UTF-8 text: {e.Message}", e);
        }

        if (lines.Length < MergeCount + 1)
        {
            throw new ModelLoadException(path, $"CLIP BPE vocabulary {path} has {lines.Length} lines; expected a header line and at least {MergeCount} merge lines.");
        }

        var merges = new string[MergeCount];
        for (int i = 0; i < MergeCount; i++)
        {
            string line = lines[i + 1];
            if (!IsMergeLine(line))
            {
                throw new ModelLoadException(path, $"CLIP BPE vocabulary {path}, line {i + 2}: expected two space-separated symbols, got '{line}'.");
            }
            merges[i] = line;
        }
        return new ClipVocabulary(BuildTokens(merges), merges);
    }

    /// <summary>True for a merge line: exactly two non-empty symbols separated by one space.</summary>
    public static bool IsMergeLine(string line)
    {
        int space = line.IndexOf(' ');
        return space > 0 && space < line.Length - 1 && line.IndexOf(' ', space + 1) < 0;
    }

    private static List<string> BuildTokens(string[] merges)
    {
        var tokens = new List<string>(512 + merges.Length + 2);
        foreach (char c in ClipByteAlphabet.VocabularyOrder)
        {
            tokens.Add(c.ToString());
        }
        foreach (char c in ClipByteAlphabet.VocabularyOrder)
        {
            tokens.Add(c + EndOfWord);
        }
        foreach (string merge in merges)
        {
            tokens.Add(merge.Replace(" ", "", StringComparison.Ordinal));
        }
        tokens.Add(StartOfText);
        tokens.Add(EndOfText);
        return tokens;
    }
}

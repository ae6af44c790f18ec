using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace TurboGen.Text;

/// <summary>
/// Converts openai's CLIP vocabulary (<c>bpe_simple_vocab_16e6.txt.gz</c>) into the Hugging Face tokenizer folder layout
/// (<c>vocab.json</c>, <c>merges.txt</c>, <c>special_tokens_map.json</c>, <c>tokenizer_config.json</c>) that
/// <see cref="ClipTokenizer.FromFolder"/> reads. Used for test model folders and for single-file checkpoints that carry no tokenizer.
/// </summary>
public static class ClipVocabularyFiles
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes an HF-layout tokenizer folder from the openai <c>.txt.gz</c>. <paramref name="padToken"/> is <c>"&lt;|endoftext|&gt;"</c>
    /// (SDXL <c>tokenizer</c>) or <c>"!"</c> (SDXL <c>tokenizer_2</c>); any token of the vocabulary is accepted.
    /// The folder is created if needed; existing files of those names are overwritten.
    /// </summary>
    public static void WriteHfFolder(string bpeVocabGzPath, string targetDir, string padToken)
    {
        ArgumentNullException.ThrowIfNull(bpeVocabGzPath);
        ArgumentNullException.ThrowIfNull(targetDir);
        ArgumentNullException.ThrowIfNull(padToken);

        ClipVocabulary vocabulary = ClipVocabulary.FromBpeVocabGz(bpeVocabGzPath);
        if (!vocabulary.Tokens.Contains(padToken))
        {
            throw new InvalidRequestException(nameof(padToken), $"Pad token '{padToken}' is not in the CLIP vocabulary (use \"{ClipVocabulary.EndOfText}\" or \"!\").");
        }

        Directory.CreateDirectory(targetDir);
        var utf8 = new UTF8Encoding(false);

        var vocab = new Dictionary<string, int>(vocabulary.Tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Tokens.Count; id++)
        {
            vocab.Add(vocabulary.Tokens[id], id);
        }
        File.WriteAllText(Path.Combine(targetDir, "vocab.json"), JsonSerializer.Serialize(vocab, JsonOptions), utf8);

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (string merge in vocabulary.Merges)
        {
            merges.Append(merge).Append('\n');
        }
        File.WriteAllText(Path.Combine(targetDir, "merges.txt"), merges.ToString(), utf8);

        var specialTokens = new Dictionary<string, object>
        {
            ["bos_token"] = SpecialToken(ClipVocabulary.StartOfText),
            ["eos_token"] = SpecialToken(ClipVocabulary.EndOfText),
            ["unk_token"] = SpecialToken(ClipVocabulary.EndOfText),
            ["pad_token"] = padToken,
        };
        File.WriteAllText(Path.Combine(targetDir, "special_tokens_map.json"), JsonSerializer.Serialize(specialTokens, JsonOptions), utf8);

        var config = new Dictionary<string, object>
        {
            ["tokenizer_class"] = "CLIPTokenizer",
            ["model_max_length"] = ClipTokenizer.DefaultMaxLength,
            ["do_lower_case"] = true,
            ["add_prefix_space"] = false,
            ["errors"] = "replace",
            ["bos_token"] = ClipVocabulary.StartOfText,
            ["eos_token"] = ClipVocabulary.EndOfText,
            ["unk_token"] = ClipVocabulary.EndOfText,
            ["pad_token"] = padToken,
        };
        File.WriteAllText(Path.Combine(targetDir, "tokenizer_config.json"), JsonSerializer.Serialize(config, JsonOptions), utf8);
    }

    private static Dictionary<string, object> SpecialToken(string content) => new()
    {
        ["content"] = content,
        ["lstrip"] = false,
        ["normalized"] = true,
        ["rstrip"] = false,
        ["single_word"] = false,
    };
}

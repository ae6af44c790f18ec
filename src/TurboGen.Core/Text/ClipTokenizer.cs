using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace TurboGen.Text;

/// <summary>
/// The CLIP BPE tokenizer of SDXL-Turbo (both text encoders) and SD-Turbo, giving the same ids as openai/CLIP's
/// <c>simple_tokenizer.py</c> with ftfy 6.1.
/// <para>
/// How it works: <see cref="CleanText"/> runs CLIP's cleaning — the prompt-relevant subset of ftfy <c>fix_text</c>
/// (HTML unescaping while the text has no '&lt;', C1 controls read as Windows-1252, Latin ligatures, fullwidth/halfwidth forms to
/// NFKC, curly quotes to straight, line breaks, lone surrogates, terminal escapes and control characters removed, NFC; ftfy's
/// mojibake repair <c>fix_encoding</c> is not implemented, so already-garbled text such as "cafÃ©" is tokenized as written),
/// Python <c>html.unescape</c> twice (full HTML5 entity table), whitespace collapsing and Python lower-casing (final sigma, İ).
/// NFC/NFKC come from .NET's string.Normalize (ICU).
/// The cleaned text is split with CLIP's regex (<c>'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+</c>, each digit alone; <c>&lt;|startoftext|&gt;</c>/<c>&lt;|endoftext|&gt;</c> become their special ids only where a regex match starts,
/// exactly as in CLIP, so the special tokens are not split out before the regex), every piece is turned
/// into UTF-8 bytes mapped to CLIP's byte alphabet with <c>&lt;/w&gt;</c> on its last symbol, and merged by BPE rank.
/// The splitting, byte mapping and BPE are done by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>
/// (<c>ByteLevel</c>, <c>EndOfWordSuffix = "&lt;/w&gt;"</c>, a <see cref="RegexPreTokenizer"/> with CLIP's regex), which caches the
/// BPE result per word, so repeated encoding of similar prompts (the real-time server tokenizes on each keystroke) is cheap.
/// </para>
/// <para>Instances are immutable and safe to share between threads; load the vocabulary once and reuse the instance.</para>
/// </summary>
public sealed partial class ClipTokenizer
{
    /// <summary>CLIP's context length, used when a folder's tokenizer_config.json does not give one.</summary>
    public const int DefaultMaxLength = 77;

    private readonly BpeTokenizer _bpe;

    private ClipTokenizer(BpeTokenizer bpe, int bosId, int eosId, int padId, int maxLength)
    {
        _bpe = bpe;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        MaxLength = maxLength;
    }

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP's vocabulary).</summary>
    public int BosId { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (49407).</summary>
    public int EosId { get; }

    /// <summary>Id written after EOS up to <see cref="MaxLength"/>: 49407 (SDXL tokenizer, SD-Turbo) or 0 for "!" (SDXL tokenizer_2).</summary>
    public int PadId { get; }

    /// <summary>Length of <see cref="TokenizedPrompt.Ids"/>, BOS and EOS included (77).</summary>
    public int MaxLength { get; }

    /// <summary>
    /// Loads a Hugging Face CLIP tokenizer folder: <c>vocab.json</c>, <c>merges.txt</c> and <c>special_tokens_map.json</c> are
    /// required (pad_token as a string or as <c>{"content": ...}</c>), <c>tokenizer_config.json</c> is optional (model_max_length).
    /// Missing or malformed files give a <see cref="ModelLoadException"/> naming the file and what was expected.
    /// </summary>
    public static ClipTokenizer FromFolder(string tokenizerDir)
    {
        ArgumentNullException.ThrowIfNull(tokenizerDir);
        if (!Directory.Exists(tokenizerDir))
        {
            throw new ModelLoadException(tokenizerDir, $"Tokenizer folder not found: {tokenizerDir} (expected a folder with vocab.json, merges.txt and special_tokens_map.json).");
        }

        string vocabPath = RequireFile(tokenizerDir, "vocab.json", "the CLIP vocabulary as a JSON object of token -> id");
        string mergesPath = RequireFile(tokenizerDir, "merges.txt", "the BPE merge rules, one 'left right' pair per line after a '#version' header");
        string specialPath = RequireFile(tokenizerDir, "special_tokens_map.json", "the special tokens (bos_token, eos_token, pad_token)");
        string configPath = Path.Combine(tokenizerDir, "tokenizer_config.json");

        Dictionary<string, int> vocab = ReadVocabJson(vocabPath);
        List<string> merges = ReadMerges(mergesPath);

        using JsonDocument special = ReadJson(specialPath);
        using JsonDocument? config = File.Exists(configPath) ? ReadJson(configPath) : null;

        string bos = ReadTokenName(special, config, "bos_token", specialPath) ?? ClipVocabulary.StartOfText;
        string eos = ReadTokenName(special, config, "eos_token", specialPath) ?? ClipVocabulary.EndOfText;
        string pad = ReadTokenName(special, config, "pad_token", specialPath) ?? ClipVocabulary.EndOfText;
        int maxLength = config is null ? DefaultMaxLength : ReadModelMaxLength(config, configPath);

        int bosId = LookUp(vocab, bos, "bos_token", vocabPath);
        int eosId = LookUp(vocab, eos, "eos_token", vocabPath);
        int padId = LookUp(vocab, pad, "pad_token", vocabPath);
        try
        {
            return Create(vocab, merges, bosId, eosId, padId, maxLength, bos, eos);
        }
        catch (Exception e) when (e is not TurboGenException)
        {
            throw new ModelLoadException(tokenizerDir, $"vocab.json and merges.txt in {tokenizerDir} do not form a valid BPE tokenizer: {e.Message}", e);
        }
    }

    /// <summary>Loads openai's <c>bpe_simple_vocab_16e6.txt.gz</c> directly; <paramref name="padId"/> is 49407 or 0 (see <see cref="PadId"/>).</summary>
    public static ClipTokenizer FromBpeVocabGz(string path, int padId, int maxLength = DefaultMaxLength)
    {
        ClipVocabulary vocabulary = ClipVocabulary.FromBpeVocabGz(path);
        if (padId < 0 || padId >= vocabulary.Tokens.Count)
        {
            throw new InvalidRequestException(nameof(padId), $"Pad id {padId} is outside the CLIP vocabulary (0..{vocabulary.Tokens.Count - 1}).");
        }
        var vocab = new Dictionary<string, int>(vocabulary.Tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Tokens.Count; id++)
        {
            vocab.Add(vocabulary.Tokens[id], id);
        }
        return Create(vocab, vocabulary.Merges, vocab[ClipVocabulary.StartOfText], vocab[ClipVocabulary.EndOfText], padId, maxLength,
            ClipVocabulary.StartOfText, ClipVocabulary.EndOfText);
    }

    /// <summary>CLIP's text cleaning (see the class summary); exposed so callers and tests can see what gets tokenized.</summary>
    public static string CleanText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return ClipTextCleaner.Clean(text);
    }

    /// <summary>
    /// Longest prompt accepted, in UTF-16 characters. BPE time grows faster than linearly with word length (a 10,000-letter word
    /// takes about 0.1 s, a million letters over a minute) and only the first <see cref="MaxLength"/> - 2 tokens are ever used.
    /// </summary>
    public const int MaxPromptLength = 10_000;

    /// <summary>
    /// BPE ids of the cleaned prompt, without BOS/EOS and without truncation. A prompt longer than <see cref="MaxPromptLength"/>
    /// gives an <see cref="InvalidRequestException"/> for parameter "prompt".
    /// </summary>
    public IReadOnlyList<int> EncodeBpe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxPromptLength)
        {
            throw new InvalidRequestException("prompt", $"Prompt is {text.Length} characters long; at most {MaxPromptLength} are accepted.");
        }
        string cleaned = ClipTextCleaner.Clean(text);
        return cleaned.Length == 0 ? [] : _bpe.EncodeToIds(cleaned, considerPreTokenization: true, considerNormalization: false);
    }

    /// <summary>
    /// <c>[BOS] + first MaxLength-2 BPE ids + [EOS]</c>, right-padded with <see cref="PadId"/> to <see cref="MaxLength"/>;
    /// <see cref="TokenizedPrompt.Truncated"/> tells the caller when tokens were dropped.
    /// </summary>
    public TokenizedPrompt Encode(string text)
    {
        IReadOnlyList<int> bpe = EncodeBpe(text);
        int kept = Math.Min(bpe.Count, MaxLength - 2);
        var ids = new int[MaxLength];
        ids[0] = BosId;
        for (int i = 0; i < kept; i++)
        {
            ids[i + 1] = bpe[i];
        }
        int eosIndex = kept + 1;
        ids[eosIndex] = EosId;
        Array.Fill(ids, PadId, eosIndex + 1, MaxLength - eosIndex - 1);
        return new TokenizedPrompt(ids, bpe.Count, bpe.Count > kept, eosIndex);
    }

    // CLIP's pre-tokenization pattern (case-insensitive, as in simple_tokenizer.py).
    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ClipPattern();

    private static ClipTokenizer Create(Dictionary<string, int> vocab, IEnumerable<string> merges, int bosId, int eosId, int padId,
        int maxLength, string bosToken, string eosToken)
    {
        if (maxLength < 2)
        {
            throw new InvalidRequestException(nameof(maxLength), $"Max length must be at least 2 (BOS and EOS), got {maxLength}.");
        }
        var specialTokens = new Dictionary<string, int> { [bosToken] = bosId, [eosToken] = eosId };
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            PreTokenizer = new RegexPreTokenizer(ClipPattern(), specialTokens: null),
            SpecialTokens = specialTokens,
            ByteLevel = true,
            EndOfWordSuffix = ClipVocabulary.EndOfWord,
            UnknownToken = eosToken,
        };
        return new ClipTokenizer(BpeTokenizer.Create(options), bosId, eosId, padId, maxLength);
    }

    private static string RequireFile(string dir, string name, string expected)
    {
        string path = Path.Combine(dir, name);
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"Tokenizer file missing: {path} (expected {expected}).");
        }
        return path;
    }

    private static JsonDocument ReadJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(path, $"Tokenizer file {path} is not valid JSON: {e.Message}", e);
        }
    }

    private static Dictionary<string, int> ReadVocabJson(string path)
    {
        using JsonDocument document = ReadJson(path);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(path, $"{path} must be a JSON object mapping token strings to ids.");
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new ModelLoadException(path, $"{path}: token '{entry.Name}' has id {entry.Value.GetRawText()}; expected a non-negative integer.");
            }
            vocab[entry.Name] = id;
        }
        if (vocab.Count == 0)
        {
            throw new ModelLoadException(path, $"{path} holds no tokens.");
        }
        return vocab;
    }

    private static List<string> ReadMerges(string path)
    {
        var merges = new List<string>();
        int lineNumber = 0;
        foreach (string rawLine in File.ReadLines(path))
        {
            lineNumber++;
            string line = rawLine.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)))
            {
                continue;
            }
            if (!ClipVocabulary.IsMergeLine(line))
            {
                throw new ModelLoadException(path, $"{path}, line {lineNumber}: expected two space-separated symbols, got '{line}'.");
            }
            merges.Add(line);
        }
        return merges;
    }

    /// <summary>A special token given as a string or as {"content": ...}, from special_tokens_map.json, else tokenizer_config.json.</summary>
    private static string? ReadTokenName(JsonDocument special, JsonDocument? config, string key, string specialPath)
    {
        foreach (JsonDocument? document in new[] { special, config })
        {
            if (document is null || document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }
            if (value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }
            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out JsonElement content)
                && content.ValueKind == JsonValueKind.String)
            {
                return content.GetString();
            }
            throw new ModelLoadException(specialPath, $"'{key}' must be a string or an object with a string \"content\", got {value.GetRawText()}.");
        }
        return null;
    }

    private static int ReadModelMaxLength(JsonDocument config, string configPath)
    {
        if (!config.RootElement.TryGetProperty("model_max_length", out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return DefaultMaxLength;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double length) || length < 2 || length != Math.Floor(length))
        {
            throw new ModelLoadException(configPath, $"{configPath}: model_max_length must be an integer of at least 2, got {value.GetRawText()}.");
        }
        // transformers writes a huge placeholder (about 1e30) when no limit was set; CLIP's context is then 77.
        return length > 1_000_000 ? DefaultMaxLength : (int)length;
    }

    private static int LookUp(Dictionary<string, int> vocab, string token, string key, string vocabPath) =>
        vocab.TryGetValue(token, out int id)
            ? id
            : throw new ModelLoadException(vocabPath, $"{key} '{token}' is not in the vocabulary {vocabPath}.");
}

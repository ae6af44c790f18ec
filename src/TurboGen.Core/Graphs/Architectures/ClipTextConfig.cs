using System.Text.Json;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// The fields of a transformers <c>CLIPTextConfig</c> (a text encoder's config.json) that the CLIP text model needs.
/// Fields missing from the JSON take transformers' defaults. Real values: SDXL text_encoder (OpenAI CLIP-L) 768/12/12/3072
/// quick_gelu; SDXL text_encoder_2 (OpenCLIP bigG) 1280/32/20/5120 gelu, projection 1280; SD-Turbo text_encoder
/// (OpenCLIP-H) 1024/23/16/4096 gelu.
/// </summary>
public sealed record ClipTextConfig(
    int HiddenSize,
    int NumHiddenLayers,
    int NumAttentionHeads,
    int IntermediateSize,
    string HiddenAct,
    double LayerNormEps,
    int ProjectionDim,
    long EosTokenId,
    int VocabSize = 49408,
    int MaxPositionEmbeddings = 77,
    string Architecture = ClipTextConfig.ClipTextModelArchitecture)
{
    public const string ClipTextModelArchitecture = "CLIPTextModel";
    public const string ClipTextModelWithProjectionArchitecture = "CLIPTextModelWithProjection";

    /// <summary>The activations of <c>mlp.fc1</c> this builder supports (transformers ACT2FN names).</summary>
    public static readonly IReadOnlyList<string> SupportedActivations = ["quick_gelu", "gelu"];

    /// <summary>True when config.json names <c>CLIPTextModelWithProjection</c> (has <c>text_projection.weight</c>, outputs <c>text_embeds</c>).</summary>
    public bool HasProjection => Architecture == ClipTextModelWithProjectionArchitecture;

    /// <summary>
    /// transformers' pooling rule: configs with the legacy <c>eos_token_id == 2</c> (all published SD/SDXL encoders) pool at
    /// argmax(input_ids), i.e. the first 49407 token; otherwise at the first position equal to <see cref="EosTokenId"/>.
    /// </summary>
    public bool UsesLegacyArgmaxPooling => EosTokenId == 2;

    /// <summary>Parses config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static ClipTextConfig FromJson(string json, string source = "config.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, $"CLIP text config {source} is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException(source, $"CLIP text config {source} is not a JSON object.");
            }
            try
            {
                string architecture = ClipTextModelArchitecture;
                if (root.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array && archs.GetArrayLength() > 0)
                {
                    architecture = archs[0].GetString() ?? ClipTextModelArchitecture;
                }
                // Defaults are those of transformers' CLIPTextConfig.__init__.
                var config = new ClipTextConfig(
                    HiddenSize: Int(root, "hidden_size", 512),
                    NumHiddenLayers: Int(root, "num_hidden_layers", 12),
                    NumAttentionHeads: Int(root, "num_attention_heads", 8),
                    IntermediateSize: Int(root, "intermediate_size", 2048),
                    HiddenAct: root.TryGetProperty("hidden_act", out var act) ? act.GetString() ?? "quick_gelu" : "quick_gelu",
                    LayerNormEps: root.TryGetProperty("layer_norm_eps", out var eps) ? eps.GetDouble() : 1e-5,
                    ProjectionDim: Int(root, "projection_dim", 512),
                    EosTokenId: root.TryGetProperty("eos_token_id", out var eos) ? eos.GetInt64() : 49407,
                    VocabSize: Int(root, "vocab_size", 49408),
                    MaxPositionEmbeddings: Int(root, "max_position_embeddings", 77),
                    Architecture: architecture);
                config.Validate(source);
                return config;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new ModelLoadException(source, $"CLIP text config {source} has a field of the wrong type: {e.Message}", e);
            }
        }
    }

    /// <summary>Reads and parses a config.json file.</summary>
    public static ClipTextConfig FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"CLIP text config not found: {path}");
        }
        return FromJson(File.ReadAllText(path), path);
    }

    private static int Int(JsonElement root, string name, int fallback) =>
        root.TryGetProperty(name, out var v) ? v.GetInt32() : fallback;

    /// <summary>Throws <see cref="ModelLoadException"/> when the values cannot describe a CLIP text transformer.</summary>
    public void Validate(string source = "config.json")
    {
        var problems = new List<string>();
        if (HiddenSize <= 0) problems.Add($"hidden_size {HiddenSize} must be positive");
        if (NumHiddenLayers <= 0) problems.Add($"num_hidden_layers {NumHiddenLayers} must be positive");
        if (NumAttentionHeads <= 0) problems.Add($"num_attention_heads {NumAttentionHeads} must be positive");
        else if (HiddenSize % NumAttentionHeads != 0) problems.Add($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (IntermediateSize <= 0) problems.Add($"intermediate_size {IntermediateSize} must be positive");
        if (ProjectionDim <= 0) problems.Add($"projection_dim {ProjectionDim} must be positive");
        if (VocabSize <= 0) problems.Add($"vocab_size {VocabSize} must be positive");
        if (MaxPositionEmbeddings <= 0) problems.Add($"max_position_embeddings {MaxPositionEmbeddings} must be positive");
        if (!(LayerNormEps > 0)) problems.Add($"layer_norm_eps {LayerNormEps} must be positive");
        if (!SupportedActivations.Contains(HiddenAct)) problems.Add($"hidden_act '{HiddenAct}' is not supported (supported: {string.Join(", ", SupportedActivations)})");
        if (Architecture is not (ClipTextModelArchitecture or ClipTextModelWithProjectionArchitecture))
        {
            problems.Add($"architecture '{Architecture}' is not {ClipTextModelArchitecture} or {ClipTextModelWithProjectionArchitecture}");
        }
        if (problems.Count > 0)
        {
            throw new ModelLoadException(source, $"CLIP text config {source} is not usable: {string.Join("; ", problems)}.");
        }
    }
}

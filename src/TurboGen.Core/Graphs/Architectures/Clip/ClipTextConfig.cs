using TurboGen.Configs;

namespace TurboGen.Graphs.Architectures.Clip;

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
    /// <summary>config.json <c>architectures</c> value of a plain CLIP text model (no projection; SDXL's first encoder, SD 2.x's encoder).</summary>
    public const string ClipTextModelArchitecture = "CLIPTextModel";

    /// <summary>config.json <c>architectures</c> value of a CLIP text model with <c>text_projection</c> (SDXL's second encoder).</summary>
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
    public static ClipTextConfig FromJson(string json, string source = "config.json") => Read(ConfigReader.Parse(json, Kind, source));

    /// <summary>Reads and parses a config.json file.</summary>
    public static ClipTextConfig FromFile(string path) => Read(ConfigReader.Load(path, Kind));

    private const string Kind = "CLIP text config";

    private static ClipTextConfig Read(ConfigReader r)
    {
        // Defaults are those of transformers' CLIPTextConfig.__init__.
        var config = new ClipTextConfig(
            HiddenSize: r.Int("hidden_size", 512),
            NumHiddenLayers: r.Int("num_hidden_layers", 12),
            NumAttentionHeads: r.Int("num_attention_heads", 8),
            IntermediateSize: r.Int("intermediate_size", 2048),
            HiddenAct: r.String("hidden_act", "quick_gelu"),
            LayerNormEps: r.Double("layer_norm_eps", 1e-5),
            ProjectionDim: r.Int("projection_dim", 512),
            EosTokenId: r.Long("eos_token_id", 49407),
            VocabSize: r.Int("vocab_size", 49408),
            MaxPositionEmbeddings: r.Int("max_position_embeddings", 77),
            Architecture: r.StringList("architectures")?.FirstOrDefault() ?? ClipTextModelArchitecture);
        config.Validate(r.Source);
        return config;
    }

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

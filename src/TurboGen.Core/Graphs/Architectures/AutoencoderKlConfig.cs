using System.Text.Json;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// The fields of a diffusers <c>AutoencoderKL</c> config.json (SD / SDXL layout: DownEncoderBlock2D / UpDecoderBlock2D,
/// one single-head attention in each mid block) that the graph builder needs.
/// </summary>
public sealed record AutoencoderKlConfig(
    int InChannels,
    int OutChannels,
    int LatentChannels,
    IReadOnlyList<int> BlockOutChannels,
    int LayersPerBlock,
    int NormNumGroups,
    float ScalingFactor,
    bool UseQuantConv = true,
    bool UsePostQuantConv = true,
    bool MidBlockAddAttention = true)
{
    /// <summary>GroupNorm epsilon of every ResnetBlock2D, attention and conv_norm_out in the VAE (diffusers hard-codes 1e-6).</summary>
    public const float NormEps = 1e-6f;

    /// <summary>The config of stabilityai/sdxl-turbo's (= SDXL's) VAE; SD 2.1 / SD-Turbo differ only in <see cref="ScalingFactor"/> 0.18215.</summary>
    public static AutoencoderKlConfig Sdxl { get; } = new(3, 3, 4, [128, 256, 512, 512], 2, 32, 0.13025f);

    /// <summary>Image size / latent size (2^(number of blocks − 1), 8 for SD/SDXL).</summary>
    public int DownsampleFactor => 1 << (BlockOutChannels.Count - 1);

    public static AutoencoderKlConfig FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"VAE config not found: {path}");
        }
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses a diffusers AutoencoderKL config.json; <paramref name="source"/> names it in error messages.</summary>
    public static AutoencoderKlConfig FromJson(string json, string source = "config.json")
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, $"VAE config {source} is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(source, $"VAE config {source} must be a JSON object.");
        }

        string? cls = OptionalString(root, "_class_name");
        if (cls is not null && cls != "AutoencoderKL")
        {
            throw new ModelLoadException(source, $"VAE config {source} is for '{cls}', expected 'AutoencoderKL'.");
        }
        var boc = IntList(root, "block_out_channels", source) ?? [64];
        var config = new AutoencoderKlConfig(
            InChannels: Int(root, "in_channels", 3, source),
            OutChannels: Int(root, "out_channels", 3, source),
            LatentChannels: Int(root, "latent_channels", 4, source),
            BlockOutChannels: boc,
            LayersPerBlock: Int(root, "layers_per_block", 1, source),
            NormNumGroups: Int(root, "norm_num_groups", 32, source),
            ScalingFactor: root.TryGetProperty("scaling_factor", out var sf) && sf.ValueKind == JsonValueKind.Number ? sf.GetSingle() : 0.18215f,
            UseQuantConv: Bool(root, "use_quant_conv", true),
            UsePostQuantConv: Bool(root, "use_post_quant_conv", true),
            MidBlockAddAttention: Bool(root, "mid_block_add_attention", true));

        CheckBlockTypes(root, "down_block_types", "DownEncoderBlock2D", boc.Length, source);
        CheckBlockTypes(root, "up_block_types", "UpDecoderBlock2D", boc.Length, source);
        string act = OptionalString(root, "act_fn") ?? "silu";
        if (act != "silu")
        {
            throw new ModelLoadException(source, $"VAE config {source}: act_fn '{act}' is not supported (only 'silu', as in SD/SDXL).");
        }
        config.Validate(source);
        return config;
    }

    /// <summary>Checks the values are usable (positive sizes, channels divisible by the group count).</summary>
    public void Validate(string source = "config")
    {
        if (BlockOutChannels.Count == 0 || BlockOutChannels.Any(c => c <= 0))
        {
            throw new ModelLoadException(source, $"VAE config {source}: block_out_channels must be a non-empty list of positive integers.");
        }
        if (InChannels <= 0 || OutChannels <= 0 || LatentChannels <= 0 || LayersPerBlock <= 0 || NormNumGroups <= 0)
        {
            throw new ModelLoadException(source, $"VAE config {source}: in/out/latent channels, layers_per_block and norm_num_groups must be positive.");
        }
        foreach (int c in BlockOutChannels)
        {
            if (c % NormNumGroups != 0)
            {
                throw new ModelLoadException(source, $"VAE config {source}: block_out_channels value {c} is not divisible by norm_num_groups {NormNumGroups}.");
            }
        }
    }

    private static void CheckBlockTypes(JsonElement root, string key, string expected, int count, string source)
    {
        if (!root.TryGetProperty(key, out var types) || types.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (types.ValueKind != JsonValueKind.Array || types.GetArrayLength() != count)
        {
            throw new ModelLoadException(source, $"VAE config {source}: {key} must list {count} block types (one per block_out_channels entry).");
        }
        foreach (var t in types.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.String || t.GetString() != expected)
            {
                throw new ModelLoadException(source, $"VAE config {source}: {key} entry {t} is not supported (only '{expected}').");
            }
        }
    }

    private static int Int(JsonElement root, string key, int fallback, string source)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
        {
            throw new ModelLoadException(source, $"VAE config {source}: '{key}' must be an integer, got {v}.");
        }
        return i;
    }

    private static bool Bool(JsonElement root, string key, bool fallback) =>
        root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

    private static string? OptionalString(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int[]? IntList(JsonElement root, string key, string source)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out _)))
        {
            throw new ModelLoadException(source, $"VAE config {source}: '{key}' must be a list of integers, got {v}.");
        }
        return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }
}

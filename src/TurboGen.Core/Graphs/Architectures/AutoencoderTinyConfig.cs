using System.Text.Json;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// The fields of a diffusers <c>AutoencoderTiny</c> config.json (TAESD / TAESDXL, e.g. madebyollin/taesd and
/// madebyollin/taesdxl) that the graph builder needs. Defaults are diffusers' defaults (= the published TAESD models).
/// </summary>
public sealed record AutoencoderTinyConfig(
    int InChannels,
    int OutChannels,
    int LatentChannels,
    IReadOnlyList<int> EncoderBlockOutChannels,
    IReadOnlyList<int> DecoderBlockOutChannels,
    IReadOnlyList<int> NumEncoderBlocks,
    IReadOnlyList<int> NumDecoderBlocks,
    int UpsamplingScalingFactor,
    string ActFn,
    float ScalingFactor)
{
    /// <summary>diffusers' AutoencoderTiny defaults, which are the TAESD / TAESDXL architecture.</summary>
    public static AutoencoderTinyConfig Default { get; } =
        new(3, 3, 4, [64, 64, 64, 64], [64, 64, 64, 64], [1, 3, 3, 3], [3, 3, 3, 1], 2, "relu", 1.0f);

    public static AutoencoderTinyConfig FromFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"TAESD config not found: {path}");
        }
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses a diffusers AutoencoderTiny config.json; missing fields take diffusers' defaults.</summary>
    public static AutoencoderTinyConfig FromJson(string json, string source = "config.json")
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, $"TAESD config {source} is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(source, $"TAESD config {source} must be a JSON object.");
        }
        string? cls = OptionalString(root, "_class_name");
        if (cls is not null && cls != "AutoencoderTiny")
        {
            throw new ModelLoadException(source, $"TAESD config {source} is for '{cls}', expected 'AutoencoderTiny'.");
        }
        string? upsampleFn = OptionalString(root, "upsample_fn");
        if (upsampleFn is not null && upsampleFn != "nearest")
        {
            throw new ModelLoadException(source, $"TAESD config {source}: upsample_fn '{upsampleFn}' is not supported (only 'nearest').");
        }

        var d = Default;
        // Old configs have only "block_out_channels" (used for both halves).
        var shared = IntList(root, "block_out_channels", source);
        var config = new AutoencoderTinyConfig(
            InChannels: Int(root, "in_channels", d.InChannels, source),
            OutChannels: Int(root, "out_channels", d.OutChannels, source),
            LatentChannels: Int(root, "latent_channels", d.LatentChannels, source),
            EncoderBlockOutChannels: IntList(root, "encoder_block_out_channels", source) ?? shared ?? d.EncoderBlockOutChannels,
            DecoderBlockOutChannels: IntList(root, "decoder_block_out_channels", source) ?? shared ?? d.DecoderBlockOutChannels,
            NumEncoderBlocks: IntList(root, "num_encoder_blocks", source) ?? d.NumEncoderBlocks,
            NumDecoderBlocks: IntList(root, "num_decoder_blocks", source) ?? d.NumDecoderBlocks,
            UpsamplingScalingFactor: Int(root, "upsampling_scaling_factor", d.UpsamplingScalingFactor, source),
            ActFn: OptionalString(root, "act_fn") ?? d.ActFn,
            ScalingFactor: root.TryGetProperty("scaling_factor", out var sf) && sf.ValueKind == JsonValueKind.Number ? sf.GetSingle() : d.ScalingFactor);
        config.Validate(source);
        return config;
    }

    /// <summary>Checks the values are usable (matching list lengths, positive sizes, a supported activation).</summary>
    public void Validate(string source = "config")
    {
        if (EncoderBlockOutChannels.Count == 0 || EncoderBlockOutChannels.Count != NumEncoderBlocks.Count)
        {
            throw new ModelLoadException(source, $"TAESD config {source}: encoder_block_out_channels and num_encoder_blocks must be non-empty and of equal length.");
        }
        if (DecoderBlockOutChannels.Count == 0 || DecoderBlockOutChannels.Count != NumDecoderBlocks.Count)
        {
            throw new ModelLoadException(source, $"TAESD config {source}: decoder_block_out_channels and num_decoder_blocks must be non-empty and of equal length.");
        }
        if (new[] { InChannels, OutChannels, LatentChannels, UpsamplingScalingFactor }.Any(v => v <= 0)
            || EncoderBlockOutChannels.Concat(DecoderBlockOutChannels).Any(v => v <= 0)
            || NumEncoderBlocks.Concat(NumDecoderBlocks).Any(v => v < 0))
        {
            throw new ModelLoadException(source, $"TAESD config {source}: channel counts and factors must be positive.");
        }
        if (ActFn is not ("relu" or "silu"))
        {
            throw new ModelLoadException(source, $"TAESD config {source}: act_fn '{ActFn}' is not supported (relu, silu).");
        }
    }

    private static int Int(JsonElement root, string key, int fallback, string source)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
        {
            throw new ModelLoadException(source, $"TAESD config {source}: '{key}' must be an integer, got {v}.");
        }
        return i;
    }

    private static string? OptionalString(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int[]? IntList(JsonElement root, string key, string source)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out _)))
        {
            throw new ModelLoadException(source, $"TAESD config {source}: '{key}' must be a list of integers, got {v}.");
        }
        return v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }
}

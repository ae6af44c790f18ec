using TurboGen.Configs;

namespace TurboGen.Graphs.Architectures.Taesd;

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

    /// <summary>Reads a diffusers AutoencoderTiny config.json; missing fields take diffusers' defaults, a wrongly typed one throws <see cref="ModelLoadException"/> naming the file and the field.</summary>
    public static AutoencoderTinyConfig FromFile(string path) => Read(ConfigReader.Load(path, Kind));

    /// <summary>Parses a diffusers AutoencoderTiny config.json; missing fields take diffusers' defaults.</summary>
    public static AutoencoderTinyConfig FromJson(string json, string source = "config.json") => Read(ConfigReader.Parse(json, Kind, source));

    private const string Kind = "TAESD config";

    private static AutoencoderTinyConfig Read(ConfigReader r)
    {
        string? cls = r.OptionalString("_class_name");
        if (cls is not null && cls != "AutoencoderTiny")
        {
            throw new ModelLoadException(r.Source, $"TAESD config {r.Source} is for '{cls}', expected 'AutoencoderTiny'.");
        }
        string? upsampleFn = r.OptionalString("upsample_fn");
        if (upsampleFn is not null && upsampleFn != "nearest")
        {
            throw r.Error($"upsample_fn '{upsampleFn}' is not supported (only 'nearest')");
        }

        var d = Default;
        // Old configs have only "block_out_channels" (used for both halves).
        var shared = r.IntList("block_out_channels");
        var config = new AutoencoderTinyConfig(
            InChannels: r.Int("in_channels", d.InChannels),
            OutChannels: r.Int("out_channels", d.OutChannels),
            LatentChannels: r.Int("latent_channels", d.LatentChannels),
            EncoderBlockOutChannels: r.IntList("encoder_block_out_channels") ?? shared ?? d.EncoderBlockOutChannels,
            DecoderBlockOutChannels: r.IntList("decoder_block_out_channels") ?? shared ?? d.DecoderBlockOutChannels,
            NumEncoderBlocks: r.IntList("num_encoder_blocks") ?? d.NumEncoderBlocks,
            NumDecoderBlocks: r.IntList("num_decoder_blocks") ?? d.NumDecoderBlocks,
            UpsamplingScalingFactor: r.Int("upsampling_scaling_factor", d.UpsamplingScalingFactor),
            ActFn: r.String("act_fn", d.ActFn),
            ScalingFactor: r.Float("scaling_factor", d.ScalingFactor));
        config.Validate(r.Source);
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
}

using TurboGen.Configs;

namespace TurboGen.Graphs.Architectures.Vae;

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

    /// <summary>Reads a diffusers AutoencoderKL config.json; a wrongly typed field throws <see cref="ModelLoadException"/> naming the file and the field.</summary>
    public static AutoencoderKlConfig FromFile(string path) => Read(ConfigReader.Load(path, Kind));

    /// <summary>Parses a diffusers AutoencoderKL config.json; <paramref name="source"/> names it in error messages.</summary>
    public static AutoencoderKlConfig FromJson(string json, string source = "config.json") => Read(ConfigReader.Parse(json, Kind, source));

    private const string Kind = "VAE config";

    private static AutoencoderKlConfig Read(ConfigReader r)
    {
        string? cls = r.OptionalString("_class_name");
        if (cls is not null && cls != "AutoencoderKL")
        {
            throw new ModelLoadException(r.Source, $"VAE config {r.Source} is for '{cls}', expected 'AutoencoderKL'.");
        }
        var boc = r.IntList("block_out_channels") ?? [64];
        var config = new AutoencoderKlConfig(
            InChannels: r.Int("in_channels", 3),
            OutChannels: r.Int("out_channels", 3),
            LatentChannels: r.Int("latent_channels", 4),
            BlockOutChannels: boc,
            LayersPerBlock: r.Int("layers_per_block", 1),
            NormNumGroups: r.Int("norm_num_groups", 32),
            ScalingFactor: r.Float("scaling_factor", 0.18215f),
            UseQuantConv: r.Bool("use_quant_conv", true),
            UsePostQuantConv: r.Bool("use_post_quant_conv", true),
            MidBlockAddAttention: r.Bool("mid_block_add_attention", true));

        CheckBlockTypes(r, "down_block_types", "DownEncoderBlock2D", boc.Count);
        CheckBlockTypes(r, "up_block_types", "UpDecoderBlock2D", boc.Count);
        string act = r.String("act_fn", "silu");
        if (act != "silu")
        {
            throw r.Error($"act_fn '{act}' is not supported (only 'silu', as in SD/SDXL)");
        }
        config.Validate(r.Source);
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

    private static void CheckBlockTypes(ConfigReader r, string key, string expected, int count)
    {
        if (r.StringList(key) is not { } types)
        {
            return;
        }
        if (types.Count != count)
        {
            throw r.Error($"{key} must list {count} block types (one per block_out_channels entry)");
        }
        foreach (string t in types)
        {
            if (t != expected)
            {
                throw r.Error($"{key} entry {t} is not supported (only '{expected}')");
            }
        }
    }
}

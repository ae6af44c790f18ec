using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>
/// Builds the ONNX graphs of a diffusers <c>AutoencoderKL</c> (the SD / SDXL VAE) from its checkpoint, with the Optimum
/// I/O contract: <c>vae_decoder</c> (<c>latent_sample</c> → <c>sample</c>) and <c>vae_encoder</c> (<c>sample</c> →
/// <c>latent_parameters</c>, or the older <c>latent_sample</c>).
/// <para>
/// How it works: the decoder is post_quant_conv → conv_in → mid block (ResnetBlock2D, single-head self-attention over the
/// h·w positions, ResnetBlock2D) → up blocks (layers_per_block+1 resnets each, nearest ×2 + 3×3 conv between blocks) →
/// GroupNorm → SiLU → conv_out. The encoder mirrors it: conv_in → down blocks (layers_per_block resnets, then a stride-2
/// conv after padding right/bottom by one) → mid block → GroupNorm → SiLU → conv_out (mean ‖ logvar) → quant_conv.
/// No latent scaling happens inside (the pipeline divides by / multiplies with <c>scaling_factor</c>), and no random
/// sampling either. Before building, every tensor the config implies is checked for presence and shape (all problems
/// reported at once, <see cref="TensorLayout"/>); after building, checkpoint keys of the built half that were never read are reported as an error.
/// One class per diffusers module: <see cref="Encoder"/>, <see cref="Decoder"/>, <see cref="DownEncoderBlock2D"/>,
/// <see cref="UpDecoderBlock2D"/>, <see cref="UNetMidBlock2D"/>, <see cref="ResnetBlock2D"/>, <see cref="Attention"/>.
/// Attention weights are accepted under the current (<c>to_q/to_k/to_v/to_out.0</c>) and the pre-0.14 diffusers names
/// (<c>query/key/value/proj_attn</c>).
/// </para>
/// </summary>
public static class AutoencoderKl
{
    /// <summary>The decoder graph: <c>latent_sample</c> [batch, latent, latent_height, latent_width] → <c>sample</c> [batch, out, height, width] (nominally [-1, 1], unclamped).</summary>
    public static GraphBuilder BuildDecoder(AutoencoderKlConfig config, ICheckpointTensors weights, AutoencoderKlBuildOptions? options = null)
    {
        options ??= new AutoencoderKlBuildOptions();
        config.Validate(weights.Source);
        var names = AttentionNamesOf(weights);

        var g = new GraphBuilder("vae_decoder") { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Layout(config, AutoencoderPart.Decoder, names), "AutoencoderKL decoder", options.VaeKernels);
        GraphValue z = g.Input("latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");
        GraphValue x = g.FromFloat32(z);
        x = config.UsePostQuantConv ? nn.Conv2d(x, "post_quant_conv") : x;
        x = new Decoder(nn, config, "decoder", names).Forward(x);
        g.Output(g.ToFloat32(x), "sample", ElementType.Float, "batch", config.OutChannels, "height", "width");

        TensorLayout.RequireAllUsed(weights, IsEncoderKey, "AutoencoderKL decoder");
        return g;
    }

    /// <summary>
    /// The encoder graph: <c>sample</c> [batch, in, height, width] (image in [-1, 1]) → <c>latent_parameters</c>
    /// [batch, 2·latent, height/8, width/8] (mean ‖ logvar), or with <see cref="VaeEncoderOutput.LatentMean"/> →
    /// <c>latent_sample</c> [batch, latent, height/8, width/8] holding the mean. Height and width must be multiples of 8.
    /// </summary>
    public static GraphBuilder BuildEncoder(AutoencoderKlConfig config, ICheckpointTensors weights, AutoencoderKlBuildOptions? options = null)
    {
        options ??= new AutoencoderKlBuildOptions();
        config.Validate(weights.Source);
        var names = AttentionNamesOf(weights);

        var g = new GraphBuilder("vae_encoder") { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Layout(config, AutoencoderPart.Encoder, names), "AutoencoderKL encoder", options.VaeKernels);
        GraphValue image = g.Input("sample", ElementType.Float, "batch", config.InChannels, "height", "width");
        GraphValue moments = new Encoder(nn, config, "encoder", names).Forward(g.FromFloat32(image));
        if (config.UseQuantConv)
        {
            moments = nn.Conv2d(moments, "quant_conv");
        }
        int latent = config.LatentChannels;
        switch (options.EncoderOutput)
        {
            case VaeEncoderOutput.LatentParameters:
                g.Output(g.ToFloat32(moments), "latent_parameters", ElementType.Float, "batch", 2 * latent, "latent_height", "latent_width");
                break;
            case VaeEncoderOutput.LatentMean:
                GraphValue mean = g.Op("Slice", [moments, g.ConstInt64(0), g.ConstInt64(latent), g.ConstInt64(1)]);
                g.Output(g.ToFloat32(mean), "latent_sample", ElementType.Float, "batch", latent, "latent_height", "latent_width");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.EncoderOutput, null);
        }

        TensorLayout.RequireAllUsed(weights, IsDecoderKey, "AutoencoderKL encoder");
        return g;
    }

    /// <summary>True when the checkpoint names its attention layers the pre-0.14 diffusers way (<c>query/key/value/proj_attn</c>).</summary>
    public static bool UsesLegacyAttentionNames(ICheckpointTensors weights) =>
        weights.Names.Any(n => n.EndsWith(".attentions.0.query.weight", StringComparison.Ordinal))
        && !weights.Names.Any(n => n.EndsWith(".attentions.0.to_q.weight", StringComparison.Ordinal));

    private static Attention.Names AttentionNamesOf(ICheckpointTensors weights) =>
        UsesLegacyAttentionNames(weights) ? Attention.Legacy : Attention.Current;

    private static bool IsEncoderKey(string key) => key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("quant_conv.", StringComparison.Ordinal);

    private static bool IsDecoderKey(string key) => key.StartsWith("decoder.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal);

    /// <summary>
    /// Every tensor (name → shape) that one half of the VAE reads for <paramref name="config"/>, i.e. the diffusers
    /// state_dict of that half. Used to check a checkpoint before building, and by tests to generate full-size checkpoints.
    /// </summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedTensors(AutoencoderKlConfig config, AutoencoderPart part, bool legacyAttentionNames = false) =>
        Layout(config, part, legacyAttentionNames ? Attention.Legacy : Attention.Current).ToDictionary();

    private static TensorLayout Layout(AutoencoderKlConfig config, AutoencoderPart part, Attention.Names names)
    {
        var t = new TensorLayout();
        int latent = config.LatentChannels;
        if (part == AutoencoderPart.Encoder)
        {
            Encoder.Declare(t, config, "encoder", names);
            if (config.UseQuantConv) t.Conv2d("quant_conv", 2 * latent, 2 * latent, 1);
        }
        else
        {
            if (config.UsePostQuantConv) t.Conv2d("post_quant_conv", latent, latent, 1);
            Decoder.Declare(t, config, "decoder", names);
        }
        return t;
    }
}

using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Taesd;

/// <summary>
/// Builds the ONNX graphs of a diffusers <c>AutoencoderTiny</c> (TAESD / TAESDXL) from its checkpoint
/// (diffusers key names <c>encoder.layers.N…</c> / <c>decoder.layers.N…</c>).
/// <para>
/// How it works: both halves are a plain sequence of layers numbered like the diffusers <c>nn.Sequential</c>, so the
/// index of every layer (including the weightless activations and upsamplers) is counted exactly as there. The decoder
/// soft-clamps the latent with tanh(x/3)·3, then conv → act → per stage: AutoencoderTinyBlocks
/// (ReLU(conv-act-conv-act-conv(x) + skip(x))), nearest upsampling and a bias-free conv (the last stage instead ends
/// with the output conv). The encoder is conv → blocks, then per later stage a bias-free stride-2 conv and blocks, then
/// the latent conv. Latents are TAESD's own (scale factor 1): they are the UNet's latents, with no
/// <c>scaling_factor</c> applied. Image range: diffusers' [-1, 1] by default (decoder output x·2−1, encoder input
/// (x+1)/2 inside the graph), or taesd.py's [0, 1] on request. Decoder output is not clamped. Checkpoints saved from
/// taesd.py itself (Sequential-index keys, one file per half) are read through <see cref="FromTaesdPyKeys"/>.
/// One class per diffusers module: <see cref="EncoderTiny"/>, <see cref="DecoderTiny"/>, <see cref="AutoencoderTinyBlock"/>;
/// the checkpoint is checked against their <see cref="TensorLayout"/> first.
/// </para>
/// </summary>
public static class AutoencoderTiny
{
    /// <summary>
    /// The decoder graph: <c>latent_sample</c> [batch, latent, latent_height, latent_width] → <c>sample</c> [batch, out, height, width]
    /// with height = latent_height·2^(upsampling stages), in the range <see cref="AutoencoderTinyBuildOptions.ImageMinusOneToOne"/> says.
    /// </summary>
    public static GraphBuilder BuildDecoder(AutoencoderTinyConfig config, ICheckpointTensors weights, AutoencoderTinyBuildOptions? options = null)
    {
        options ??= new AutoencoderTinyBuildOptions();
        config.Validate(weights.Source);

        var g = new GraphBuilder("taesd_decoder") { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Layout(config, AutoencoderPart.Decoder), "AutoencoderTiny decoder");
        GraphValue z = g.Input("latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");
        GraphValue x = new DecoderTiny(nn, config, "decoder").Forward(g.FromFloat32(z));
        if (options.ImageMinusOneToOne)
        {
            x = g.Sub(g.Mul(x, g.Const(2f)), g.Const(1f));
        }
        g.Output(g.ToFloat32(x), "sample", ElementType.Float, "batch", config.OutChannels, "height", "width");

        TensorLayout.RequireAllUsed(weights, k => k.StartsWith("encoder.", StringComparison.Ordinal), "AutoencoderTiny decoder");
        return g;
    }

    /// <summary>
    /// The encoder graph: <c>sample</c> [batch, in, height, width] (in the range <see cref="AutoencoderTinyBuildOptions.ImageMinusOneToOne"/>
    /// says) → <c>latent_sample</c> [batch, latent, height/8, width/8] (for the default 4 stages; unscaled TAESD latents).
    /// </summary>
    public static GraphBuilder BuildEncoder(AutoencoderTinyConfig config, ICheckpointTensors weights, AutoencoderTinyBuildOptions? options = null)
    {
        options ??= new AutoencoderTinyBuildOptions();
        config.Validate(weights.Source);

        var g = new GraphBuilder("taesd_encoder") { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Layout(config, AutoencoderPart.Encoder), "AutoencoderTiny encoder");
        GraphValue image = g.Input("sample", ElementType.Float, "batch", config.InChannels, "height", "width");
        GraphValue x = g.FromFloat32(image);
        x = options.ImageMinusOneToOne ? g.Div(g.Add(x, g.Const(1f)), g.Const(2f)) : x;
        x = new EncoderTiny(nn, config, "encoder").Forward(x);
        g.Output(g.ToFloat32(x), "latent_sample", ElementType.Float, "batch", config.LatentChannels, "latent_height", "latent_width");

        TensorLayout.RequireAllUsed(weights, k => k.StartsWith("decoder.", StringComparison.Ordinal), "AutoencoderTiny encoder");
        return g;
    }

    /// <summary>
    /// A view of a checkpoint saved from madebyollin's <c>taesd.py</c> (one file per half, e.g. <c>taesd_decoder.safetensors</c>,
    /// keys are <c>nn.Sequential</c> indices such as <c>3.conv.0.weight</c>) under the diffusers names this builder reads.
    /// taesd.py's Encoder indices equal diffusers' <c>encoder.layers.N</c>; its Decoder starts with the weightless Clamp
    /// module, so its index N is diffusers' <c>decoder.layers.(N−1)</c>. Keys that are not <c>index.rest</c> keep their name
    /// (and are then reported as unused).
    /// </summary>
    public static ICheckpointTensors FromTaesdPyKeys(ICheckpointTensors taesdPyWeights, AutoencoderPart part)
    {
        var mappings = new List<TensorMapping>();
        foreach (string original in taesdPyWeights.Names)
        {
            int dot = original.IndexOf('.');
            if (dot > 0 && int.TryParse(original.AsSpan(0, dot), System.Globalization.NumberStyles.None, null, out int index))
            {
                string rest = original[(dot + 1)..];
                mappings.Add(new(part == AutoencoderPart.Encoder ? $"encoder.layers.{index}.{rest}" : $"decoder.layers.{index - 1}.{rest}", original));
            }
            else
            {
                mappings.Add(new(original, original));
            }
        }
        return new RenamedCheckpoint(taesdPyWeights, mappings);
    }

    /// <summary>Every tensor (name → shape) that one half reads for <paramref name="config"/> (the diffusers state_dict of that half).</summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedTensors(AutoencoderTinyConfig config, AutoencoderPart part) =>
        Layout(config, part).ToDictionary();

    private static TensorLayout Layout(AutoencoderTinyConfig config, AutoencoderPart part)
    {
        var t = new TensorLayout();
        if (part == AutoencoderPart.Encoder) EncoderTiny.Declare(t, config, "encoder");
        else DecoderTiny.Declare(t, config, "decoder");
        return t;
    }
}

using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// Builds the ONNX graph of a diffusers <c>ControlNetModel</c> (SD 1.x/2.x and SDXL ControlNets) from its config.json and
/// diffusers-named checkpoint (MODEL-CONTRACT §10). Inputs: the UNet's (<c>sample</c>, <c>timestep</c>,
/// <c>encoder_hidden_states</c>, and <c>text_embeds</c> + <c>time_ids</c> for text_time conditioning), plus
/// <c>controlnet_cond</c> [batch, conditioning_channels, 8·height, 8·width] (the control image in [0,1]) and
/// <c>conditioning_scale</c> (rank-0 float). Outputs: <c>down_block_res_sample_0…N−1</c> (one per UNet skip connection) and
/// <c>mid_block_res_sample</c>, already multiplied by the scale — exactly what a UNet built with
/// <see cref="UnetBuildOptions.ControlNetResiduals"/> takes.
/// </summary>
/// <remarks>
/// How it works (diffusers' forward, guess mode off): the time embedding, <c>conv_in</c>, the down blocks and the mid block
/// are the UNet's block classes (namespace <see cref="Unet"/>); the control image goes through
/// <see cref="ControlNetConditioningEmbedding"/> (channels flipped first for a bgr model) and is added to conv_in's output;
/// every skip connection and the mid block's output go through their zero convolution (<see cref="ControlNetZeroConvs"/>).
/// The checkpoint is checked against <see cref="ControlNetCheckpointLayout"/> first and unused keys are reported after.
/// </remarks>
public static class ControlNetModel
{
    /// <summary>Name of the control image input: <c>controlnet_cond</c> [B, conditioning_channels, 8h, 8w] in [0,1].</summary>
    public const string ControlNetCondInput = "controlnet_cond";

    /// <summary>Name of the rank-0 float input the residuals are multiplied by: <c>conditioning_scale</c>.</summary>
    public const string ConditioningScaleInput = "conditioning_scale";

    /// <summary>Prefix of the down residual outputs, followed by their index: <c>down_block_res_sample_0</c>, <c>_1</c>, ….</summary>
    public const string DownResidualOutputPrefix = "down_block_res_sample_";

    /// <summary>Name of the mid-block residual output: <c>mid_block_res_sample</c>.</summary>
    public const string MidResidualOutput = "mid_block_res_sample";

    /// <summary>
    /// Every checkpoint tensor the build reads: the UNet's tensors up to its mid block, then the conditioning embedding and the
    /// zero convolutions, each declared by its block.
    /// </summary>
    internal static TensorLayout Declare(ControlNetConfig config)
    {
        var t = new TensorLayout();
        Unet2DConditionModel.DeclareEncoder(t, config.Unet);
        ControlNetConditioningEmbedding.Declare(t, config);
        ControlNetZeroConvs.Declare(t, config);
        return t;
    }

    /// <summary>Builds the ControlNet graph for <paramref name="config"/> from <paramref name="weights"/> (options as for the UNet; graph name "controlnet" unless set).</summary>
    /// <exception cref="ModelLoadException">The checkpoint lacks tensors, has wrong shapes, or has tensors the architecture does not use.</exception>
    public static GraphBuilder Build(ControlNetConfig config, ICheckpointTensors weights, UnetBuildOptions? options = null)
    {
        options ??= new UnetBuildOptions { GraphName = "controlnet" };
        var unet = config.Unet;

        var g = new GraphBuilder(options.GraphName) { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Declare(config), "ControlNet", options.Kernels);
        var inputs = Unet2DConditionModel.DeclareInputs(g, unet, options);
        GraphValue cond = g.Input(ControlNetCondInput, ElementType.Float, "batch", config.ConditioningChannels, "image_height", "image_width");
        GraphValue scale = g.FromFloat32(g.Input(ConditioningScaleInput, ElementType.Float));

        GraphValue temb = Unet2DConditionModel.TimeEmbedding(g, nn, unet, options, inputs);

        GraphValue x = nn.Conv2d(g.FromFloat32(inputs.Sample), "conv_in");
        GraphValue control = g.FromFloat32(cond);
        if (config.BgrChannelOrder)
        {
            control = g.Op("Gather", [control, g.ConstInt64(2, 1, 0)], ("axis", 1L));
        }
        x = g.Add(x, new ControlNetConditioningEmbedding(nn, config).Forward(control));

        var skips = new List<GraphValue> { x };
        foreach (var block in unet.DownBlocks())
        {
            x = block.HasCrossAttention
                ? new CrossAttnDownBlock2D(nn, unet, block).Forward(x, temb, inputs.Context, skips)
                : new DownBlock2D(nn, unet, block).Forward(x, temb, skips);
        }
        x = new UNetMidBlock2DCrossAttn(nn, unet, unet.MidBlock()!).Forward(x, temb, inputs.Context);

        var zero = new ControlNetZeroConvs(nn, config);
        var down = zero.Down(skips, scale);
        var channels = unet.SkipChannels();
        var factors = unet.SkipDownscales();
        for (int i = 0; i < down.Count; i++)
        {
            var (h, w) = UnetConfig.ResidualDims(factors[i]);
            g.Output(g.ToFloat32(down[i]), DownResidualOutputPrefix + i, ElementType.Float, "batch", channels[i], h, w);
        }
        var (mh, mw) = UnetConfig.ResidualDims(factors[^1]);
        g.Output(g.ToFloat32(zero.Mid(x, scale)), MidResidualOutput, ElementType.Float, "batch", unet.BlockOutChannels[^1], mh, mw);

        if (!options.AllowUnusedKeys)
        {
            TensorLayout.RequireAllUsed(weights, _ => false, "ControlNet");
        }
        return g;
    }
}

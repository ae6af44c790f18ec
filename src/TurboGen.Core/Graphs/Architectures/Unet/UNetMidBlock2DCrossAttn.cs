namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>diffusers <c>UNetMidBlock2DCrossAttn</c>: resnets.0, then (<see cref="Transformer2DModel"/> → resnet) per attention layer, at the deepest width.</summary>
internal sealed class UNetMidBlock2DCrossAttn(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    /// <summary>The mid block's tensors: resnets.0, then per attention layer a <see cref="Transformer2DModel"/> and the next resnet.</summary>
    public static void Declare(TensorLayout t, UnetConfig config, UnetBlockSpec spec)
    {
        ResnetBlock2D.Declare(t, $"{spec.Prefix}.resnets.0", spec.InChannels, spec.OutChannels, config.TimeEmbedDim);
        for (int j = 0; j < spec.Layers; j++)
        {
            Transformer2DModel.Declare(t, $"{spec.Prefix}.attentions.{j}", spec.OutChannels, spec.TransformerLayers, spec.CrossAttentionDim, config.UseLinearProjection);
            ResnetBlock2D.Declare(t, $"{spec.Prefix}.resnets.{j + 1}", spec.OutChannels, spec.OutChannels, config.TimeEmbedDim);
        }
    }

    public GraphValue Forward(GraphValue x, GraphValue temb, GraphValue context)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        x = Resnet(0).Forward(x, temb);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = new Transformer2DModel(nn, $"{spec.Prefix}.attentions.{j}", spec.Heads, spec.TransformerLayers, config.NormNumGroups, config.UseLinearProjection)
                .Forward(x, context);
            x = Resnet(j + 1).Forward(x, temb);
        }
        return x;
    }

    private ResnetBlock2D Resnet(int j) =>
        new(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps, config.MidBlockScaleFactor);
}

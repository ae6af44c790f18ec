namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>diffusers <c>UNetMidBlock2DCrossAttn</c>: resnets.0, then (<see cref="Transformer2DModel"/> → resnet) per attention layer, at the deepest width.</summary>
internal sealed class UNetMidBlock2DCrossAttn(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
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

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>UpBlock2D</c>: each resnet takes the running features concatenated (channel axis) with the most recent
/// remaining skip connection, which it consumes; then an optional <see cref="Upsample2D"/> to the next skip's size.
/// </summary>
internal sealed class UpBlock2D(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    public GraphValue Forward(GraphValue x, GraphValue temb, List<GraphValue> skips)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = nn.G.Concat(1, x, Pop(skips));
            x = new ResnetBlock2D(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps).Forward(x, temb);
        }
        return spec.HasSampler ? new Upsample2D(nn, $"{spec.Prefix}.upsamplers.0").Forward(x, skips[^1]) : x;
    }

    internal static GraphValue Pop(List<GraphValue> skips)
    {
        GraphValue last = skips[^1];
        skips.RemoveAt(skips.Count - 1);
        return last;
    }
}

/// <summary>diffusers <c>CrossAttnUpBlock2D</c>: like <see cref="UpBlock2D"/> with a <see cref="Transformer2DModel"/> after each resnet.</summary>
internal sealed class CrossAttnUpBlock2D(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    public GraphValue Forward(GraphValue x, GraphValue temb, GraphValue context, List<GraphValue> skips)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = nn.G.Concat(1, x, UpBlock2D.Pop(skips));
            x = new ResnetBlock2D(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps).Forward(x, temb);
            x = new Transformer2DModel(nn, $"{spec.Prefix}.attentions.{j}", spec.Heads, spec.TransformerLayers, config.NormNumGroups, config.UseLinearProjection,
                    spec.OnlyCrossAttention)
                .Forward(x, context);
        }
        return spec.HasSampler ? new Upsample2D(nn, $"{spec.Prefix}.upsamplers.0").Forward(x, skips[^1]) : x;
    }
}

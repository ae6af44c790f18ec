namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>diffusers <c>DownBlock2D</c>: resnets, then an optional <see cref="Downsample2D"/>; every output is kept as a skip connection.</summary>
internal sealed class DownBlock2D(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    /// <summary>The tensors of a down block of either type (with <see cref="Transformer2DModel"/>s when <see cref="UnetBlockSpec.HasCrossAttention"/>).</summary>
    public static void Declare(TensorLayout t, UnetConfig config, UnetBlockSpec spec)
    {
        for (int j = 0; j < spec.Layers; j++)
        {
            ResnetBlock2D.Declare(t, $"{spec.Prefix}.resnets.{j}", j == 0 ? spec.InChannels : spec.OutChannels, spec.OutChannels, config.TimeEmbedDim);
            if (spec.HasCrossAttention)
            {
                Transformer2DModel.Declare(t, $"{spec.Prefix}.attentions.{j}", spec.OutChannels, spec.TransformerLayers, spec.CrossAttentionDim,
                    config.UseLinearProjection, spec.OnlyCrossAttention);
            }
        }
        if (spec.HasSampler) Downsample2D.Declare(t, $"{spec.Prefix}.downsamplers.0", spec.OutChannels);
    }

    public GraphValue Forward(GraphValue x, GraphValue temb, List<GraphValue> skips)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = new ResnetBlock2D(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps).Forward(x, temb);
            skips.Add(x);
        }
        if (spec.HasSampler)
        {
            x = new Downsample2D(nn, $"{spec.Prefix}.downsamplers.0", config.DownsamplePadding).Forward(x);
            skips.Add(x);
        }
        return x;
    }
}

/// <summary>diffusers <c>CrossAttnDownBlock2D</c>: (resnet → <see cref="Transformer2DModel"/>) pairs, then an optional <see cref="Downsample2D"/>; every output is kept as a skip connection.</summary>
internal sealed class CrossAttnDownBlock2D(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    public GraphValue Forward(GraphValue x, GraphValue temb, GraphValue context, List<GraphValue> skips)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = new ResnetBlock2D(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps).Forward(x, temb);
            x = new Transformer2DModel(nn, $"{spec.Prefix}.attentions.{j}", spec.Heads, spec.TransformerLayers, config.NormNumGroups, config.UseLinearProjection,
                    spec.OnlyCrossAttention)
                .Forward(x, context);
            skips.Add(x);
        }
        if (spec.HasSampler)
        {
            x = new Downsample2D(nn, $"{spec.Prefix}.downsamplers.0", config.DownsamplePadding).Forward(x);
            skips.Add(x);
        }
        return x;
    }
}

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>UpBlock2D</c>: each resnet takes the running features concatenated (channel axis) with the most recent
/// remaining skip connection, which it consumes; then an optional <see cref="Upsample2D"/> to the next skip's size.
/// </summary>
internal sealed class UpBlock2D(Nn nn, UnetConfig config, UnetBlockSpec spec)
{
    /// <summary>
    /// The tensors of an up block of either type: resnet j takes the width from below (the previous block's output for j = 0)
    /// plus its skip's width (<see cref="UnetBlockSpec.InChannels"/> for the last resnet).
    /// </summary>
    public static void Declare(TensorLayout t, UnetConfig config, UnetBlockSpec spec)
    {
        for (int j = 0; j < spec.Layers; j++)
        {
            int skip = j == spec.Layers - 1 ? spec.InChannels : spec.OutChannels;
            int below = j == 0 ? spec.PrevOutChannels : spec.OutChannels;
            ResnetBlock2D.Declare(t, $"{spec.Prefix}.resnets.{j}", below + skip, spec.OutChannels, config.TimeEmbedDim);
            if (spec.HasCrossAttention)
            {
                Transformer2DModel.Declare(t, $"{spec.Prefix}.attentions.{j}", spec.OutChannels, spec.TransformerLayers, spec.CrossAttentionDim,
                    config.UseLinearProjection, spec.OnlyCrossAttention);
            }
        }
        if (spec.HasSampler) Upsample2D.Declare(t, $"{spec.Prefix}.upsamplers.0", spec.OutChannels);
    }

    public GraphValue Forward(GraphValue x, GraphValue temb, List<GraphValue> skips)
    {
        using var _ = nn.ModuleScope(spec.Prefix);
        for (int j = 0; j < spec.Layers; j++)
        {
            x = nn.Graph.Concat(1, x, Pop(skips));
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
            x = nn.Graph.Concat(1, x, UpBlock2D.Pop(skips));
            x = new ResnetBlock2D(nn, $"{spec.Prefix}.resnets.{j}", config.NormNumGroups, config.NormEps).Forward(x, temb);
            x = new Transformer2DModel(nn, $"{spec.Prefix}.attentions.{j}", spec.Heads, spec.TransformerLayers, config.NormNumGroups, config.UseLinearProjection,
                    spec.OnlyCrossAttention)
                .Forward(x, context);
        }
        return spec.HasSampler ? new Upsample2D(nn, $"{spec.Prefix}.upsamplers.0").Forward(x, skips[^1]) : x;
    }
}

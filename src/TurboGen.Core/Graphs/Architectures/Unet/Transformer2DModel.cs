namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>Transformer2DModel</c> (continuous input): GroupNorm (eps 1e-6) → proj_in → image to tokens
/// [B,H·W,C] (with a linear projection the tokens are projected, with a 1×1 conv the image is) → the
/// <see cref="BasicTransformerBlock"/>s over the text context → proj_out → back to [B,C,H,W] → plus the input.
/// </summary>
/// <remarks>With <c>onlyCrossAttention</c> each block's attn1 attends to the text context (diffusers <c>only_cross_attention</c>).</remarks>
internal sealed class Transformer2DModel(Nn nn, string prefix, int heads, int layers, int groups, bool linearProjection, bool onlyCrossAttention = false)
{
    /// <summary>The model's tensors: norm, proj_in, the <see cref="BasicTransformerBlock"/>s, proj_out (Linear or 1×1 Conv).</summary>
    public static void Declare(TensorLayout t, string prefix, long channels, int layers, long crossDim, bool linearProjection, bool onlyCrossAttention = false)
    {
        t.Norm(prefix + ".norm", channels);
        Projection(t, prefix + ".proj_in", channels, linearProjection);
        for (int k = 0; k < layers; k++)
        {
            BasicTransformerBlock.Declare(t, $"{prefix}.transformer_blocks.{k}", channels, crossDim, onlyCrossAttention);
        }
        Projection(t, prefix + ".proj_out", channels, linearProjection);
    }

    private static void Projection(TensorLayout t, string module, long channels, bool linear)
    {
        if (linear) t.Linear(module, channels, channels);
        else t.Conv2d(module, channels, channels, 1);
    }

    public GraphValue Forward(GraphValue x, GraphValue context)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        GraphValue h = nn.GroupNorm(x, prefix + ".norm", groups, 1e-6f);
        if (linearProjection)
        {
            h = nn.Linear(ToTokens(g, h), prefix + ".proj_in");
        }
        else
        {
            h = ToTokens(g, nn.Conv2d(h, prefix + ".proj_in"));
        }

        for (int k = 0; k < layers; k++)
        {
            h = new BasicTransformerBlock(nn, $"{prefix}.transformer_blocks.{k}", heads, onlyCrossAttention).Forward(h, context);
        }

        if (linearProjection)
        {
            h = ToImage(g, nn.Linear(h, prefix + ".proj_out"), x);
        }
        else
        {
            h = nn.Conv2d(ToImage(g, h, x), prefix + ".proj_out");
        }
        return g.Add(h, x);
    }

    /// <summary>[B,C,H,W] → [B,H·W,C].</summary>
    private static GraphValue ToTokens(GraphBuilder g, GraphValue image) => g.Transpose(g.Reshape(image, 0, 0, -1), 0, 2, 1);

    /// <summary>[B,H·W,C] → [B,C,H,W] with the spatial size of <paramref name="like"/>.</summary>
    private static GraphValue ToImage(GraphBuilder g, GraphValue tokens, GraphValue like) =>
        g.Op("Reshape", [g.Transpose(tokens, 0, 2, 1), g.Op("Shape", [like])]);
}

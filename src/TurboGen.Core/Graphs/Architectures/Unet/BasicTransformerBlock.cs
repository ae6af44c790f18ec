namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>BasicTransformerBlock</c> as used by the SD/SDXL UNets (pre-LayerNorm, eps 1e-5, each with a residual):
/// norm1 → attn1 (self-attention), norm2 → attn2 (cross-attention over the text context), norm3 → ff (GEGLU:
/// ff.net.0.proj gives [value, gate], value · GELU(gate), then ff.net.2). Attention projections to_q/to_k/to_v have no
/// bias, to_out.0 has one; heads share the channels equally. With <c>only_cross_attention</c> (cross-attention-only
/// blocks of distilled UNets) attn1 attends to the text context too, like attn2 (diffusers passes it
/// <c>encoder_hidden_states</c>); norm2/attn2 still follow as usual.
/// </summary>
internal sealed class BasicTransformerBlock(Nn nn, string prefix, int heads, bool onlyCrossAttention = false)
{
    /// <summary>The block's tensors for <paramref name="channels"/> wide tokens and a <paramref name="crossDim"/> wide text context.</summary>
    public static void Declare(TensorLayout t, string prefix, long channels, long crossDim, bool onlyCrossAttention = false)
    {
        t.Norm(prefix + ".norm1", channels);
        DeclareAttention(t, prefix + ".attn1", channels, onlyCrossAttention ? crossDim : channels);   // only_cross_attention: attn1 reads the text context
        t.Norm(prefix + ".norm2", channels);
        DeclareAttention(t, prefix + ".attn2", channels, crossDim);
        t.Norm(prefix + ".norm3", channels);
        t.Linear(prefix + ".ff.net.0.proj", channels, 8 * channels);   // GEGLU: value and gate halves of 4·C each
        t.Linear(prefix + ".ff.net.2", 4 * channels, channels);
    }

    private static void DeclareAttention(TensorLayout t, string module, long channels, long contextChannels)
    {
        t.Linear(module + ".to_q", channels, channels, bias: false);
        t.Linear(module + ".to_k", contextChannels, channels, bias: false);
        t.Linear(module + ".to_v", contextChannels, channels, bias: false);
        t.Linear(module + ".to_out.0", channels, channels);
    }

    public GraphValue Forward(GraphValue h, GraphValue context)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        GraphValue n = nn.LayerNorm(h, prefix + ".norm1", 1e-5f);
        h = g.Add(h, Attention(prefix + ".attn1", n, onlyCrossAttention ? context : n));
        n = nn.LayerNorm(h, prefix + ".norm2", 1e-5f);
        h = g.Add(h, Attention(prefix + ".attn2", n, context));
        n = nn.LayerNorm(h, prefix + ".norm3", 1e-5f);
        return g.Add(h, FeedForward(prefix + ".ff", n));
    }

    /// <summary>diffusers <c>Attention</c>: multi-head scaled dot-product attention of <paramref name="x"/> over <paramref name="context"/>.</summary>
    private GraphValue Attention(string module, GraphValue x, GraphValue context)
    {
        using var _ = nn.ModuleScope(module);
        long channels = nn.Shape(module + ".to_q.weight")[0];
        GraphValue q = nn.Linear(x, module + ".to_q", bias: false);
        GraphValue k = nn.Linear(context, module + ".to_k", bias: false);
        GraphValue v = nn.Linear(context, module + ".to_v", bias: false);
        GraphValue o = nn.Attention(q, k, v, heads, channels);
        return nn.Linear(o, module + ".to_out.0");
    }

    /// <summary>diffusers <c>FeedForward</c> with GEGLU activation.</summary>
    private GraphValue FeedForward(string module, GraphValue x)
    {
        using var _ = nn.ModuleScope(module);
        var g = nn.Graph;
        long inner = nn.Shape(module + ".net.0.proj.weight")[0] / 2;
        GraphValue projected = nn.Linear(x, module + ".net.0.proj");   // [B, T, 2·inner]
        GraphValue[] halves = g.OpN("Split", [projected, g.ConstInt64(inner, inner)], 2, ("axis", -1L));
        GraphValue gated = g.Mul(halves[0], nn.Gelu(halves[1]));
        return nn.Linear(gated, module + ".net.2");
    }
}

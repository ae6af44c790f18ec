namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>
/// The VAE's diffusers <c>Attention</c> (mid block): GroupNorm, then single-head self-attention over the h·w positions as
/// tokens ([B,C,H,W] → [B,HW,C]), output projection, back to [B,C,H,W], plus the residual. The four linear layers are named
/// <c>to_q/to_k/to_v/to_out.0</c>, or <c>query/key/value/proj_attn</c> in pre-0.14 diffusers checkpoints (<see cref="Legacy"/>).
/// </summary>
internal sealed class Attention(Nn nn, string prefix, Attention.Names names, int groups, float eps)
{
    /// <summary>The names of the four linear layers.</summary>
    public sealed record Names(string Query, string Key, string Value, string Out);

    public static readonly Names Current = new("to_q", "to_k", "to_v", "to_out.0");
    public static readonly Names Legacy = new("query", "key", "value", "proj_attn");

    public static void Declare(TensorLayout t, string prefix, long channels, Names names)
    {
        t.Norm(prefix + ".group_norm", channels);
        t.Linear($"{prefix}.{names.Query}", channels, channels);
        t.Linear($"{prefix}.{names.Key}", channels, channels);
        t.Linear($"{prefix}.{names.Value}", channels, channels);
        t.Linear($"{prefix}.{names.Out}", channels, channels);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        long channels = nn.Shape(prefix + ".group_norm.weight")[0];
        GraphValue h = nn.GroupNorm(x, prefix + ".group_norm", groups, eps);
        GraphValue tokens = g.Transpose(g.Reshape(h, 0, channels, -1), 0, 2, 1);
        GraphValue q = nn.Linear(tokens, $"{prefix}.{names.Query}");
        GraphValue k = nn.Linear(tokens, $"{prefix}.{names.Key}");
        GraphValue v = nn.Linear(tokens, $"{prefix}.{names.Value}");
        GraphValue attended = nn.Attention(q, k, v, heads: 1, channels);
        GraphValue o = nn.Linear(attended, $"{prefix}.{names.Out}");
        GraphValue back = g.Op("Reshape", [g.Transpose(o, 0, 2, 1), g.Op("Shape", [x])]);
        return g.Add(back, x);
    }
}

namespace TurboGen.Graphs.Architectures.Clip;

/// <summary>transformers <c>CLIPEncoderLayer</c> (pre-LN): x + self_attn(layer_norm1(x)), then + mlp(layer_norm2(x)).</summary>
internal sealed class ClipEncoderLayer(Nn nn, ClipTextConfig config, string prefix)
{
    public static void Declare(TensorLayout t, ClipTextConfig config, string prefix)
    {
        ClipAttention.Declare(t, config, prefix + ".self_attn");
        t.Norm(prefix + ".layer_norm1", config.HiddenSize);
        ClipMlp.Declare(t, config, prefix + ".mlp");
        t.Norm(prefix + ".layer_norm2", config.HiddenSize);
    }

    public GraphValue Forward(GraphValue x, GraphValue mask)
    {
        var g = nn.Graph;
        float eps = (float)config.LayerNormEps;
        GraphValue attn = new ClipAttention(nn, config, prefix + ".self_attn").Forward(nn.LayerNorm(x, prefix + ".layer_norm1", eps), mask);
        GraphValue afterAttn;
        using (g.Scope(prefix))
        {
            afterAttn = g.Add(x, attn);
        }
        GraphValue mlp = new ClipMlp(nn, config, prefix + ".mlp").Forward(nn.LayerNorm(afterAttn, prefix + ".layer_norm2", eps));
        using (g.Scope(prefix))
        {
            return g.Add(afterAttn, mlp);
        }
    }
}

/// <summary>transformers <c>CLIPAttention</c>: q/k/v projections, causal scaled dot-product attention over heads, out_proj.</summary>
internal sealed class ClipAttention(Nn nn, ClipTextConfig config, string prefix)
{
    public static void Declare(TensorLayout t, ClipTextConfig config, string prefix)
    {
        foreach (string proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
        {
            t.Linear($"{prefix}.{proj}", config.HiddenSize, config.HiddenSize);
        }
    }

    public GraphValue Forward(GraphValue x, GraphValue mask)
    {
        GraphValue q = nn.Linear(x, prefix + ".q_proj");
        GraphValue k = nn.Linear(x, prefix + ".k_proj");
        GraphValue v = nn.Linear(x, prefix + ".v_proj");
        GraphValue o;
        using (nn.Graph.Scope(prefix))
        {
            o = nn.Attention(q, k, v, config.NumAttentionHeads, config.HiddenSize, mask);
        }
        return nn.Linear(o, prefix + ".out_proj");
    }
}

/// <summary>transformers <c>CLIPMLP</c>: fc2(act(fc1(x))) with act = quick_gelu (OpenAI CLIP-L) or exact gelu (OpenCLIP bigG/H).</summary>
internal sealed class ClipMlp(Nn nn, ClipTextConfig config, string prefix)
{
    public static void Declare(TensorLayout t, ClipTextConfig config, string prefix)
    {
        t.Linear(prefix + ".fc1", config.HiddenSize, config.IntermediateSize);
        t.Linear(prefix + ".fc2", config.IntermediateSize, config.HiddenSize);
    }

    public GraphValue Forward(GraphValue x)
    {
        GraphValue hidden = nn.Linear(x, prefix + ".fc1");
        GraphValue activated;
        using (nn.Graph.Scope(prefix + "." + config.HiddenAct))
        {
            activated = config.HiddenAct switch
            {
                "quick_gelu" => nn.QuickGelu(hidden),
                "gelu" => nn.Gelu(hidden),
                _ => throw new ModelLoadException("config.json", $"Unsupported CLIP hidden_act '{config.HiddenAct}'."),
            };
        }
        return nn.Linear(activated, prefix + ".fc2");
    }
}

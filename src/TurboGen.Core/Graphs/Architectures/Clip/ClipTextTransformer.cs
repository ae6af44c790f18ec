namespace TurboGen.Graphs.Architectures.Clip;

/// <summary>
/// transformers <c>CLIPTextTransformer</c>: <see cref="ClipTextEmbeddings"/> → L <see cref="ClipEncoderLayer"/>s under a causal
/// mask → final_layer_norm. Returns last_hidden_state and hidden_states[0..L] (the embeddings, then each layer's output).
/// </summary>
internal sealed class ClipTextTransformer(Nn nn, ClipTextConfig config, string prefix)
{
    public static void Declare(TensorLayout t, ClipTextConfig config, string prefix)
    {
        ClipTextEmbeddings.Declare(t, config, prefix + ".embeddings");
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            ClipEncoderLayer.Declare(t, config, $"{prefix}.encoder.layers.{i}");
        }
        t.Norm(prefix + ".final_layer_norm", config.HiddenSize);
    }

    public (GraphValue LastHidden, List<GraphValue> HiddenStates) Forward(GraphValue inputIds)
    {
        GraphValue x = new ClipTextEmbeddings(nn, prefix + ".embeddings").Forward(inputIds);
        var hiddenStates = new List<GraphValue> { x };
        GraphValue mask = CausalMask(config.MaxPositionEmbeddings);
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            x = new ClipEncoderLayer(nn, config, $"{prefix}.encoder.layers.{i}").Forward(x, mask);
            hiddenStates.Add(x);
        }
        GraphValue last = nn.LayerNorm(x, prefix + ".final_layer_norm", (float)config.LayerNormEps);
        return (last, hiddenStates);
    }

    /// <summary>Additive causal mask [T,T]: 0 on and below the diagonal, float.MinValue above (as transformers' finfo.min); float32, as the attention scores it is added to.</summary>
    private GraphValue CausalMask(long seq)
    {
        var mask = new float[seq * seq];
        for (long q = 0; q < seq; q++)
        {
            for (long k = q + 1; k < seq; k++)
            {
                mask[q * seq + k] = float.MinValue;
            }
        }
        using var _ = nn.Graph.Scope(prefix + ".causal_attention_mask");
        return nn.Graph.ConstFloat32(mask, seq, seq);
    }
}

/// <summary>transformers <c>CLIPTextEmbeddings</c>: token_embedding[input_ids] + position_embedding[0..T).</summary>
internal sealed class ClipTextEmbeddings(Nn nn, string prefix)
{
    public static void Declare(TensorLayout t, ClipTextConfig config, string prefix)
    {
        t.Add(prefix + ".token_embedding.weight", config.VocabSize, config.HiddenSize);
        t.Add(prefix + ".position_embedding.weight", config.MaxPositionEmbeddings, config.HiddenSize);
    }

    public GraphValue Forward(GraphValue inputIds)
    {
        var g = nn.Graph;
        GraphValue tokens = nn.Param(prefix + ".token_embedding.weight");
        GraphValue positions = nn.Param(prefix + ".position_embedding.weight");
        using var _ = g.Scope(prefix);
        GraphValue tokenEmbeds = g.Op("Gather", [tokens, inputIds], ("axis", 0L));   // [B,T,H]
        return g.Add(tokenEmbeds, positions);                                   // + [T,H]
    }
}

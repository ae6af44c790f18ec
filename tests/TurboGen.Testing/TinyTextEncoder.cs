using TurboGen.Graphs;

namespace TurboGen.Testing;

/// <summary>The tiny text encoders of <see cref="TinyModels"/>: the CLIP I/O contract (ids in; last hidden state, pooled or projected output, hidden states out).</summary>
internal static class TinyTextEncoder
{
    private const int Vocab = 49408, Seq = 77;

    /// <summary>CLIP-like encoder: token + position embedding, L residual tanh layers, final LayerNorm, EOS pooling (argmax of ids).</summary>
    public static GraphBuilder Build(SeededWeights rng, int dim, int layers, ElementType idsType, bool withHiddenStates, int? projection, bool fp16Io)
    {
        var g = new GraphBuilder("text_encoder");
        var ids = g.Input("input_ids", idsType, "batch_size", Seq);
        var ids64 = idsType == ElementType.Int64 ? ids : g.Cast(ids, ElementType.Int64);
        var tok = g.Weight("text_model.embeddings.token_embedding.weight", rng.Normal(Vocab * dim, 0.5f), Vocab, dim);
        var pos = g.Weight("text_model.embeddings.position_embedding.weight", rng.Normal(Seq * dim, 0.1f), Seq, dim);
        var h = g.Add(g.Op("Gather", [tok, ids64], ("axis", 0L)), pos);
        var hidden = new List<GraphValue> { h };
        for (int l = 0; l < layers; l++)
        {
            using var _ = g.Scope($"text_model.encoder.layers.{l}");
            var w = g.Weight($"text_model.encoder.layers.{l}.mlp.fc1.weight", rng.Normal(dim * dim, 1f / MathF.Sqrt(dim)), dim, dim);
            h = g.Add(h, g.Tanh(g.MatMul(h, w)));
            hidden.Add(h);
        }
        var last = g.Op("LayerNormalization", [h, g.Const(Enumerable.Repeat(1f, dim).ToArray(), dim), g.Const(new float[dim], dim)], ("axis", -1L), ("epsilon", 1e-5f));
        // pooled = last[b, argmax(ids[b])]
        var argmax = g.Op("ArgMax", [ids64], ("axis", 1L), ("keepdims", 0L));
        var pooled = g.Op("GatherND", [last, g.Unsqueeze(argmax, 1)], ("batch_dims", 1L));   // [B, dim]
        if (projection is int p)
        {
            var pw = g.Weight("text_projection.weight", rng.Normal(dim * p, 1f / MathF.Sqrt(dim)), dim, p);
            TinyModels.FloatOut(g, g.MatMul(pooled, pw), "text_embeds", fp16Io, "batch_size", p);
        }
        TinyModels.FloatOut(g, last, "last_hidden_state", fp16Io, "batch_size", Seq, dim);
        if (projection is null)
        {
            TinyModels.FloatOut(g, pooled, "pooler_output", fp16Io, "batch_size", dim);
        }
        if (withHiddenStates)
        {
            for (int i = 0; i < hidden.Count; i++)
            {
                TinyModels.FloatOut(g, hidden[i], $"hidden_states.{i}", fp16Io, "batch_size", Seq, dim);
            }
        }
        return g;
    }
}

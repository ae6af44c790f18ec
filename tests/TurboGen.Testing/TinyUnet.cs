using TurboGen.Graphs;

namespace TurboGen.Testing;

/// <summary>The tiny UNets of <see cref="TinyModels"/>: the Optimum/Olive UNet I/O contract (sample, timestep, text condition, SDXL's added conditions, optional ControlNet residuals) around a few convolutions.</summary>
internal static class TinyUnet
{
    private const int Hidden = TinyModels.Hidden;

    /// <summary>Conv-in, timestep and text/time conditioning mixed in by linear layers, SiLU, conv-out → ε.</summary>
    public static GraphBuilder Build(SeededWeights rng, int crossDim, int? pooledDim, TinyFlavor flavor, bool fp16Io, float? faultBelowTimestep = null, bool controlNetResiduals = false)
    {
        var g = new GraphBuilder("unet");
        var (sample, _) = TinyModels.FloatIn(g, "sample", fp16Io, "batch_size", 4, "height", "width");
        GraphValue t;
        switch (flavor)
        {
            case TinyFlavor.OptimumNew:
                t = TinyModels.FloatIn(g, "timestep", fp16Io).Value;
                break;
            case TinyFlavor.OptimumOld:
                t = g.Cast(g.Input("timestep", ElementType.Int64, "steps"), ElementType.Float);
                break;
            default:
                t = TinyModels.FloatIn(g, "timestep", fp16Io, 1).Value;
                break;
        }
        var (ehs, _) = TinyModels.FloatIn(g, "encoder_hidden_states", fp16Io, "batch_size", "sequence_length", crossDim);
        var tEmb = g.Mul(g.Reshape(g.Div(t, g.Const(1000f)), -1, 1, 1, 1), g.Const(rng.Normal(Hidden, 1f), 1, Hidden, 1, 1));
        var h = g.Conv(sample, g.Weight("conv_in.weight", rng.Normal(Hidden * 4 * 9, 1f / 6f), Hidden, 4, 3, 3), g.Weight("conv_in.bias", rng.Normal(Hidden, 0.02f), Hidden), pad: 1);
        var text = g.ReduceMean(ehs, [1], keepDims: false);                          // [B, crossDim]
        var cond = g.MatMul(text, g.Weight("text_proj.weight", rng.Normal(crossDim * Hidden, 1f / MathF.Sqrt(crossDim)), crossDim, Hidden));
        if (pooledDim is int p)
        {
            var (te, _) = TinyModels.FloatIn(g, "text_embeds", fp16Io, "batch_size", p);
            var (ti, _) = TinyModels.FloatIn(g, "time_ids", fp16Io, "batch_size", 6);
            cond = g.Add(cond, g.MatMul(te, g.Weight("add_embedding.weight", rng.Normal(p * Hidden, 1f / MathF.Sqrt(p)), p, Hidden)));
            cond = g.Add(cond, g.MatMul(g.Div(ti, g.Const(512f)), g.Weight("time_ids.weight", rng.Normal(6 * Hidden, 0.4f), 6, Hidden)));
        }
        if (controlNetResiduals)
        {
            h = AddResiduals(g, h);
        }
        h = g.Add(g.Add(h, g.Reshape(cond, -1, Hidden, 1, 1)), tEmb);
        h = g.Mul(h, g.Sigmoid(h));   // SiLU
        var outSample = g.Conv(h, g.Weight("conv_out.weight", rng.Normal(4 * Hidden * 9, 1f / MathF.Sqrt(Hidden * 9)), 4, Hidden, 3, 3), g.Weight("conv_out.bias", rng.Normal(4, 0.02f), 4), pad: 1);
        // ε ≈ the scaled input plus a small prompt/seed-dependent correction, so x0 = x − σ·ε stays O(1) like a real model's.
        outSample = g.Add(sample, g.Mul(outSample, g.Const(0.05f)));
        if (faultBelowTimestep is float fault)
        {
            // index = (t < fault) × 10⁶ into a one-element table: 0 adds nothing; out of bounds fails the run.
            var below = g.Cast(g.Op("Less", [t, g.Const(fault)]), ElementType.Float);
            var index = g.Cast(g.Mul(below, g.Const(1_000_000f)), ElementType.Int64);
            outSample = g.Add(outSample, g.Op("Gather", [g.Const([0f], 1), index], ("axis", 0L)));
        }
        TinyModels.FloatOut(g, outSample, "out_sample", fp16Io, "batch_size", 4, "height", "width");
        return g;
    }

    /// <summary>
    /// The ControlNet residual inputs with the real names and shapes of <see cref="TinyControlNets"/>' layout: residual 0 (the
    /// conv_in skip, <see cref="Hidden"/> channels at full resolution) is added to the features; the others contribute their
    /// spatial-and-channel mean, so every residual changes the prediction.
    /// </summary>
    private static GraphValue AddResiduals(GraphBuilder g, GraphValue h)
    {
        var (channels, factors) = TinyControlNets.ResidualLayout();
        for (int i = 0; i < channels.Count; i++)
        {
            bool mid = i == channels.Count - 1;
            var (dh, dw) = TurboGen.Graphs.Architectures.Unet.UnetConfig.ResidualDims(factors[i]);
            var r = g.Input(mid ? "mid_block_additional_residual" : $"down_block_additional_residual_{i}", ElementType.Float, "batch_size", channels[i], dh, dw);
            h = i == 0 ? g.Add(h, r) : g.Add(h, g.Mul(g.ReduceMean(r, [1, 2, 3], keepDims: true), g.Const(0.5f)));
        }
        return h;
    }
}

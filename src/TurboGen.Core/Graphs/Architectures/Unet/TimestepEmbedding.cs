namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>Timesteps</c>: the sinusoidal embedding of scalar values t [N] → [N, dim]. Frequency i is
/// exp(−ln(10000)·i / (dim/2 − freqShift)) (computed in float32 as PyTorch does); the halves are [sin, cos],
/// or [cos, sin] when <c>flip_sin_to_cos</c>. Always computed in float32 (as diffusers does), then given the activation type.
/// </summary>
internal sealed class Timesteps(GraphBuilder g, int dim, bool flipSinToCos, float freqShift)
{
    public GraphValue Forward(GraphValue t)
    {
        if (dim <= 0 || dim % 2 != 0)
        {
            throw new ModelLoadException("config.json", $"Sinusoidal timestep embedding of odd or non-positive width {dim} is not supported.");
        }
        int half = dim / 2;
        float logMaxPeriod = (float)-Math.Log(10000.0);
        var frequencies = new float[half];
        for (int i = 0; i < half; i++)
        {
            frequencies[i] = MathF.Exp(logMaxPeriod * i / (half - freqShift));
        }
        GraphValue embedding;
        using (g.FloatTypeScope(ElementType.Float))
        {
            GraphValue args = g.Mul(g.Unsqueeze(t, 1), g.Const(frequencies, 1, half));   // [N, half]
            GraphValue sin = g.Op("Sin", [args]);
            GraphValue cos = g.Op("Cos", [args]);
            embedding = flipSinToCos ? g.Concat(-1, cos, sin) : g.Concat(-1, sin, cos);
        }
        return g.FromFloat32(embedding);
    }
}

/// <summary>
/// diffusers <c>TimestepEmbedding</c>: linear_1 → SiLU → linear_2 (the time and SDXL add-embedding MLPs). With a
/// condition (LCM's guidance-scale embedding, <c>cond_proj_dim</c>), <c>cond_proj</c> (Linear without bias)
/// of it is added to the input first.
/// </summary>
internal sealed class TimestepEmbedding(Nn nn, string prefix)
{
    /// <summary>The MLP's tensors: cond_proj (without bias) when there is a condition, linear_1, linear_2.</summary>
    public static void Declare(TensorLayout t, string prefix, long inFeatures, long timeEmbedDim, long? conditionFeatures = null)
    {
        if (conditionFeatures is long cond) t.Linear(prefix + ".cond_proj", cond, inFeatures, bias: false);
        t.Linear(prefix + ".linear_1", inFeatures, timeEmbedDim);
        t.Linear(prefix + ".linear_2", timeEmbedDim, timeEmbedDim);
    }

    public GraphValue Forward(GraphValue x, GraphValue? condition = null)
    {
        using var _ = nn.ModuleScope(prefix);
        if (condition is { } c)
        {
            x = nn.Graph.Add(x, nn.Linear(c, prefix + ".cond_proj", bias: false));
        }
        GraphValue h = nn.Silu(nn.Linear(x, prefix + ".linear_1"));
        return nn.Linear(h, prefix + ".linear_2");
    }
}

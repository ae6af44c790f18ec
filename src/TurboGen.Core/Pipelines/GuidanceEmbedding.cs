using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// The guidance-scale embedding an LCM-distilled UNet (<c>time_cond_proj_dim</c>) takes as <c>timestep_cond</c>, exactly as
/// diffusers' <c>LatentConsistencyModelPipeline.get_guidance_scale_embedding</c> computes it in float32:
/// w = guidance_scale − 1, scaled by 1000; half = dim/2 frequencies f_k = exp(−k·ln(10000)/(half − 1));
/// embedding = [sin(1000·w·f), cos(1000·w·f)] (a zero pads an odd width).
/// </summary>
/// <remarks>
/// Such a UNet was distilled with the guidance folded in, so it is run without classifier-free guidance: diffusers'
/// Stable Diffusion pipelines turn CFG off whenever the UNet has <c>time_cond_proj_dim</c>, and so does <see cref="TurboPipeline"/>.
/// The pipeline embeds the request's scale when it is above 1 and 1 (w = 0) otherwise: TurboGen's "≤ 1 is unguided" rule,
/// where diffusers would feed a negative w that no LCM UNet was distilled with.
/// </remarks>
public static class GuidanceEmbedding
{
    /// <summary>[batch, dim] embedding of <paramref name="guidanceScale"/> for every batch item.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is below 4 (half − 1 would be zero) or <paramref name="batch"/> below 1.</exception>
    public static FloatTensor For(float guidanceScale, int dim, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        float[] row = Row(guidanceScale - 1f, dim);
        var data = new float[batch * dim];
        for (int b = 0; b < batch; b++) row.CopyTo(data, b * dim);
        return new FloatTensor(data, [batch, dim]);
    }

    /// <summary>One embedding row for the value <paramref name="w"/> (already guidance_scale − 1), float32 at every step as PyTorch.</summary>
    public static float[] Row(float w, int dim)
    {
        int half = dim / 2;
        float step = MathF.Log(10000f) / (half - 1);
        float scaled = w * 1000f;
        var row = new float[dim];
        for (int k = 0; k < half; k++)
        {
            float frequency = MathF.Exp(k * -step);
            float arg = scaled * frequency;
            row[k] = MathF.Sin(arg);
            row[half + k] = MathF.Cos(arg);
        }
        return row;
    }
}

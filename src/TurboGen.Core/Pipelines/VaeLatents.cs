using TurboGen.Runtime;

namespace TurboGen.Pipelines;

/// <summary>
/// Image latents from a VAE encoding, as diffusers' <c>DiagonalGaussianDistribution.sample()</c> × scaling_factor: per batch item,
/// mean + exp(0.5·clamp(logvar, −30, 20))·ε with ε from the caller; an encoder without a log-variance (TAESD-style)
/// gives its mean. Image-to-image and inpainting share it.
/// </summary>
internal static class VaeLatents
{
    /// <param name="encoding">The encoder's output for one image, [1,4,h,w].</param>
    /// <param name="scalingFactor">The VAE's scaling_factor (0.18215 SD, 0.13025 SDXL).</param>
    /// <param name="batch">Batch items; each gets its own ε.</param>
    /// <param name="drawNoise">Fills ε (one [4,h,w] plane) for batch item b.</param>
    /// <returns>The latents, batch × 4 × h × w floats.</returns>
    public static float[] Sample(VaeEncoding encoding, float scalingFactor, int batch, Action<int, Span<float>> drawNoise)
    {
        int plane = encoding.Mean.Length;
        var latents = new float[batch * plane];
        var eps = new float[plane];
        for (int b = 0; b < batch; b++)
        {
            var dst = latents.AsSpan(b * plane, plane);
            if (encoding.LogVar is { } logvar)
            {
                drawNoise(b, eps);
                for (int i = 0; i < plane; i++)
                {
                    float lv = Math.Clamp(logvar.Data[i], -30f, 20f);
                    dst[i] = encoding.Mean.Data[i] + MathF.Exp(0.5f * lv) * eps[i];
                }
            }
            else
            {
                encoding.Mean.Data.CopyTo(dst);
            }
            for (int i = 0; i < plane; i++) dst[i] *= scalingFactor;
        }
        return latents;
    }
}

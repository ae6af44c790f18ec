using TurboGen.Graphs;

namespace TurboGen.Testing;

/// <summary>The tiny autoencoders of <see cref="TinyModels"/>: a full VAE encoder/decoder pair that round-trips an image to 8×8 blocks, and a TAESD-like decoder.</summary>
internal static class TinyVae
{
    private const int Hidden = TinyModels.Hidden;

    /// <summary>
    /// Full VAE decoder: 1×1 conv with the pseudo-inverse of the encoder's projection, nearest ×8 upsampling, a 3×3
    /// conv close to identity. decode(encode(x)) ≈ x blurred to 8×8 blocks, so image-to-image behaves like the real thing.
    /// </summary>
    public static GraphBuilder Decoder(SeededWeights rng, bool fp16Io, string inputName)
    {
        var g = new GraphBuilder("vae_decoder");
        var (z, _) = TinyModels.FloatIn(g, inputName, fp16Io, "batch_size", 4, "latent_height", "latent_width");
        var (a, _) = EncoderProjection();
        var h = g.Conv(z, g.Weight("post_quant_conv.weight", PseudoInverse(a), 3, 4, 1, 1), null);
        h = g.Op("Resize", [h, GraphValue.None, g.Const([1f, 1f, 8f, 8f], 4)], ("mode", "nearest"));
        var k = rng.Normal(3 * 3 * 9, 0.03f);
        for (int c = 0; c < 3; c++) k[(c * 3 + c) * 9 + 4] += 1f;   // identity centre tap
        h = g.Conv(h, g.Weight("conv_out.weight", k, 3, 3, 3, 3), g.Weight("conv_out.bias", rng.Normal(3, 0.02f), 3), pad: 1);
        TinyModels.FloatOut(g, h, "sample", fp16Io, "batch_size", 3, "height", "width");
        return g;
    }

    /// <summary>TAESD-like decoder: tanh(z/3)·3 clamp, 1×1 conv, nearest ×8, 3×3 conv, tanh → [-1,1].</summary>
    public static GraphBuilder TinyDecoder(SeededWeights rng)
    {
        var g = new GraphBuilder("tiny_vae_decoder");
        var z = g.Input("latent_sample", ElementType.Float, "batch_size", 4, "latent_height", "latent_width");
        var h = g.Mul(g.Tanh(g.Div(z, g.Const(3f))), g.Const(3f));
        h = g.Conv(h, g.Weight("decoder.layers.0.weight", rng.Normal(Hidden * 4, 0.5f), Hidden, 4, 1, 1), g.Weight("decoder.layers.0.bias", rng.Normal(Hidden, 0.02f), Hidden));
        h = g.Op("Resize", [h, GraphValue.None, g.Const([1f, 1f, 8f, 8f], 4)], ("mode", "nearest"));
        h = g.Conv(h, g.Weight("decoder.layers.1.weight", rng.Normal(3 * Hidden * 9, 1f / MathF.Sqrt(Hidden * 9)), 3, Hidden, 3, 3), g.Weight("decoder.layers.1.bias", rng.Normal(3, 0.02f), 3), pad: 1);
        g.Output(g.Tanh(h), "sample", ElementType.Float, "batch_size", 3, "height", "width");
        return g;
    }

    /// <summary>The encoder's 3→4 projection A (fixed, well conditioned) and its bias.</summary>
    /// <remarks>Scaled so that latents × scaling_factor have about unit spread, like a real VAE's.</remarks>
    private static (float[] A, float[] Bias) EncoderProjection() => (
        [4.5f, 1.5f, -1.0f,
         -2.0f, 4.0f, 1.5f,
         1.0f, -1.5f, 4.5f,
         2.5f, 2.5f, 2.5f], [0.25f, -0.25f, 0.1f, 0f]);

    /// <summary>(AᵀA)⁻¹Aᵀ for a 4×3 A, laid out as a [3,4] 1×1 conv weight, divided by nothing (the pipeline already unscales latents).</summary>
    private static float[] PseudoInverse(float[] a)
    {
        var ata = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int r = 0; r < 4; r++) ata[i, j] += a[r * 3 + i] * a[r * 3 + j];
        double det = ata[0, 0] * (ata[1, 1] * ata[2, 2] - ata[1, 2] * ata[2, 1]) - ata[0, 1] * (ata[1, 0] * ata[2, 2] - ata[1, 2] * ata[2, 0]) + ata[0, 2] * (ata[1, 0] * ata[2, 1] - ata[1, 1] * ata[2, 0]);
        var inv = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                int i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
                inv[i, j] = (ata[i1, j1] * ata[i2, j2] - ata[i1, j2] * ata[i2, j1]) / det;
            }
        var result = new float[3 * 4];
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 4; r++)
            {
                double v = 0;
                for (int k = 0; k < 3; k++) v += inv[i, k] * a[r * 3 + k];
                result[i * 4 + r] = (float)v;
            }
        return result;
    }

    /// <summary>8×8 average pooling then the 1×1 projection A to the latent mean (and a small constant logvar for <c>latent_parameters</c>).</summary>
    public static GraphBuilder Encoder(SeededWeights rng, string outputName, bool fp16Io)
    {
        var g = new GraphBuilder("vae_encoder");
        var (x, _) = TinyModels.FloatIn(g, "sample", fp16Io, "batch_size", 3, "height", "width");
        var h = g.Op("AveragePool", [x], ("kernel_shape", new long[] { 8, 8 }), ("strides", new long[] { 8, 8 }));
        var (a, bias) = EncoderProjection();
        bool parameters = outputName == "latent_parameters";
        int outC = parameters ? 8 : 4;
        var w = new float[outC * 3];
        var b = new float[outC];
        Array.Copy(a, w, a.Length);
        Array.Copy(bias, b, bias.Length);
        if (parameters)
        {
            var noise = rng.Normal(4 * 3, 0.05f);
            Array.Copy(noise, 0, w, 12, 12);
            for (int i = 4; i < 8; i++) b[i] = -7f;              // std ≈ 0.03
        }
        h = g.Conv(h, g.Weight("quant_conv.weight", w, outC, 3, 1, 1), g.Weight("quant_conv.bias", b, outC));
        TinyModels.FloatOut(g, h, outputName, fp16Io, "batch_size", outC, "latent_height", "latent_width");
        return g;
    }
}

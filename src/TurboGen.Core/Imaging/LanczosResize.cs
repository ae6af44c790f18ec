namespace TurboGen.Imaging;

/// <summary>
/// Pillow's <c>Image.resize(size, Image.LANCZOS)</c> on 8-bit RGB, reproduced operation for operation (what diffusers'
/// <c>VaeImageProcessor.resize</c> does to control images with its default <c>resample="lanczos"</c>): a separable
/// Lanczos-3 filter whose support widens by the scale when shrinking; per output pixel the weights are computed in double,
/// normalised to sum 1, then turned into 22-bit fixed point (rounded half away from zero); the horizontal pass runs first
/// and is rounded and clipped to 8 bits, then the vertical pass. Same-size images are returned unchanged (Pillow copies them).
/// </summary>
public static class LanczosResize
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const double Support = 3.0;

    /// <summary>The image stretched to <paramref name="width"/>×<paramref name="height"/> (no aspect-ratio preservation, as diffusers' default resize mode).</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (width <= 0 || height <= 0) throw new ArgumentException($"Target size must be positive, got {width}x{height}.");
        if (width == image.Width && height == image.Height) return image;
        byte[] pixels = image.Pixels;
        int w = image.Width, h = image.Height;
        if (width != w)
        {
            pixels = Pass(pixels, w, h, width, horizontal: true);
            w = width;
        }
        if (height != h)
        {
            pixels = Pass(pixels, w, h, height, horizontal: false);
        }
        return new RgbImage(width, height, pixels);
    }

    private static byte[] Pass(byte[] source, int w, int h, int outSize, bool horizontal)
    {
        int inSize = horizontal ? w : h;
        var (bounds, kk, ksize) = Coefficients(inSize, outSize);
        int outW = horizontal ? outSize : w, outH = horizontal ? h : outSize;
        var result = new byte[outW * outH * 3];
        for (int y = 0; y < outH; y++)
        {
            for (int x = 0; x < outW; x++)
            {
                int o = horizontal ? x : y;
                int min = bounds[2 * o], count = bounds[2 * o + 1];
                for (int c = 0; c < 3; c++)
                {
                    long ss = 1L << (PrecisionBits - 1);
                    for (int k = 0; k < count; k++)
                    {
                        int sx = horizontal ? min + k : x, sy = horizontal ? y : min + k;
                        ss += source[(sy * w + sx) * 3 + c] * (long)kk[o * ksize + k];
                    }
                    result[(y * outW + x) * 3 + c] = Clip8(ss);
                }
            }
        }
        return result;
    }

    private static byte Clip8(long value)
    {
        long v = value >> PrecisionBits;
        return (byte)Math.Clamp(v, 0, 255);
    }

    /// <summary>Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole input range.</summary>
    private static (int[] Bounds, int[] Kernel, int KSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var kk = new int[outSize * ksize];
        var weights = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double total = 0;
            for (int x = 0; x < xmax; x++)
            {
                double wgt = Lanczos((x + xmin - center + 0.5) * ss);
                weights[x] = wgt;
                total += wgt;
            }
            for (int x = 0; x < xmax; x++)
            {
                double k = total != 0 ? weights[x] / total : weights[x];
                kk[xx * ksize + x] = k < 0 ? (int)(-0.5 + k * (1 << PrecisionBits)) : (int)(0.5 + k * (1 << PrecisionBits));
            }
            bounds[2 * xx] = xmin;
            bounds[2 * xx + 1] = xmax;
        }
        return (bounds, kk, ksize);
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    private static double Lanczos(double x) => x is >= -3.0 and < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;
}

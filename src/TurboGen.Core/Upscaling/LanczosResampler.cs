using TurboGen.Imaging;

namespace TurboGen.Upscaling;

/// <summary>
/// Lanczos-3 resampling of an <see cref="RgbImage"/> to any size, as PIL's <c>Image.resize(…, LANCZOS)</c> (A1111's "Lanczos"
/// upscaler) computes it: separable, horizontal pass then vertical, each output pixel centred at (i + ½)·in/out, the kernel
/// sinc(x)·sinc(x/3) widened by in/out when shrinking, weights normalised; 8-bit between the passes. In floating point rather
/// than PIL's fixed point, so values may differ from PIL's by one level.
/// </summary>
public static class LanczosResampler
{
    private const double Support = 3.0;

    /// <summary>The image resampled to exactly <paramref name="width"/>×<paramref name="height"/> (aspect ratio not kept; the same object when the size is unchanged).</summary>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (width == image.Width && height == image.Height) return image;
        byte[] horizontal = width == image.Width ? image.Pixels : Pass(image.Pixels, image.Width, image.Height, width, horizontalPass: true);
        byte[] result = height == image.Height ? horizontal : Pass(horizontal, width, image.Height, height, horizontalPass: false);
        return new RgbImage(width, height, result);
    }

    /// <summary>Scales to cover <paramref name="width"/>×<paramref name="height"/> keeping the aspect ratio, then crops the centre (A1111's "crop and resize").</summary>
    public static RgbImage ResizeCover(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        double scale = Math.Max((double)width / image.Width, (double)height / image.Height);
        int w = Math.Max(width, (int)Math.Round(image.Width * scale)), h = Math.Max(height, (int)Math.Round(image.Height * scale));
        var resized = Resize(image, w, h);
        return w == width && h == height ? resized : Crop(resized, (w - width) / 2, (h - height) / 2, width, height);
    }

    private static RgbImage Crop(RgbImage image, int x0, int y0, int width, int height)
    {
        var pixels = new byte[(long)width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Array.Copy(image.Pixels, ((long)(y0 + y) * image.Width + x0) * 3, pixels, (long)y * width * 3, width * 3);
        }
        return new RgbImage(width, height, pixels);
    }

    private static byte[] Pass(byte[] src, int srcWidth, int srcHeight, int outSize, bool horizontalPass)
    {
        int inSize = horizontalPass ? srcWidth : srcHeight;
        var (starts, counts, weights, stride) = Coefficients(inSize, outSize);
        int dstWidth = horizontalPass ? outSize : srcWidth, dstHeight = horizontalPass ? srcHeight : outSize;
        var dst = new byte[(long)dstWidth * dstHeight * 3];
        Parallel.For(0, dstHeight, y =>
        {
            for (int x = 0; x < dstWidth; x++)
            {
                int o = horizontalPass ? x : y;
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < counts[o]; k++)
                {
                    double w = weights[o * stride + k];
                    long s = horizontalPass
                        ? ((long)y * srcWidth + starts[o] + k) * 3
                        : ((long)(starts[o] + k) * srcWidth + x) * 3;
                    r += w * src[s];
                    g += w * src[s + 1];
                    b += w * src[s + 2];
                }
                long d = ((long)y * dstWidth + x) * 3;
                dst[d] = Clip(r);
                dst[d + 1] = Clip(g);
                dst[d + 2] = Clip(b);
            }
        });
        return dst;
    }

    private static byte Clip(double v) => (byte)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), 0, 255);

    private static (int[] Starts, int[] Counts, double[] Weights, int Stride) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        int stride = (int)Math.Ceiling(support) * 2 + 1;
        var starts = new int[outSize];
        var counts = new int[outSize];
        var weights = new double[outSize * stride];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int max = Math.Min((int)(center + support + 0.5), inSize);
            int n = Math.Min(max - min, stride);
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                double w = Kernel((k + min - center + 0.5) / filterScale);
                weights[o * stride + k] = w;
                sum += w;
            }
            if (sum != 0)
            {
                for (int k = 0; k < n; k++) weights[o * stride + k] /= sum;
            }
            starts[o] = min;
            counts[o] = n;
        }
        return (starts, counts, weights, stride);
    }

    private static double Kernel(double x) => x is > -Support and < Support ? Sinc(x) * Sinc(x / Support) : 0;

    private static double Sinc(double x)
    {
        if (x == 0) return 1;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}

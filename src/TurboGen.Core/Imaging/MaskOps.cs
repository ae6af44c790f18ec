namespace TurboGen.Imaging;

/// <summary>
/// Operations on single-channel planes (masks, alpha) and the mask-driven image operations of inpainting: Gaussian blur
/// (three box passes, as Pillow's <c>GaussianBlur</c> does, so any radius costs the same), PIL's RGB→L luminance,
/// A1111's "fill" of a masked area from its surroundings, and compositing through a mask.
/// </summary>
public static class MaskOps
{
    /// <summary>PIL's <c>convert("L")</c>: L = (R·299 + G·587 + B·114) / 1000, rounded.</summary>
    public static byte[] Luminance(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var p = image.Pixels;
        var l = new byte[image.Width * image.Height];
        for (int i = 0; i < l.Length; i++)
        {
            l[i] = (byte)((p[3 * i] * 299 + p[3 * i + 1] * 587 + p[3 * i + 2] * 114 + 500) / 1000);
        }
        return l;
    }

    /// <summary>
    /// Gaussian blur of a <paramref name="width"/>×<paramref name="height"/> plane with standard deviation
    /// <paramref name="sigma"/> pixels, approximated by three box blurs of matched variance (edges repeat the border pixel).
    /// Returns a new plane; <paramref name="sigma"/> ≤ 0 returns a copy.
    /// </summary>
    public static float[] GaussianBlur(ReadOnlySpan<float> plane, int width, int height, float sigma)
    {
        var a = plane.ToArray();
        if (sigma <= 0) return a;
        var b = new float[a.Length];
        foreach (int radius in BoxRadii(sigma))
        {
            BoxPass(a, b, width, height, radius, horizontal: true);
            BoxPass(b, a, width, height, radius, horizontal: false);
        }
        return a;
    }

    /// <summary>Blurs an 8-bit plane (see the float overload), rounding back to bytes.</summary>
    public static byte[] GaussianBlur(byte[] plane, int width, int height, float sigma)
    {
        var f = new float[plane.Length];
        for (int i = 0; i < f.Length; i++) f[i] = plane[i];
        var blurred = GaussianBlur(f, width, height, sigma);
        var result = new byte[plane.Length];
        for (int i = 0; i < result.Length; i++) result[i] = (byte)Math.Clamp(MathF.Round(blurred[i]), 0, 255);
        return result;
    }

    /// <summary>
    /// A1111's <c>inpainting_fill</c> "fill": the pixels where <paramref name="mask"/> is set are replaced by the colours
    /// around them. The kept pixels (alpha = 255 − mask, premultiplied) are blurred at radii 256, 64, 16, 4, 2, 0 and
    /// alpha-composited over each other (1, 1, 2, 4, 2, 1 times), so each masked pixel ends with the nearest kept colours.
    /// </summary>
    public static RgbImage Fill(RgbImage image, byte[] mask)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width, h = image.Height, n = w * h;
        var alpha = new float[n];
        var premultiplied = new float[3][];
        for (int c = 0; c < 3; c++) premultiplied[c] = new float[n];
        for (int i = 0; i < n; i++)
        {
            alpha[i] = (255 - mask[i]) / 255f;
            for (int c = 0; c < 3; c++) premultiplied[c][i] = image.Pixels[3 * i + c] * alpha[i];
        }
        var outColor = new float[3][];
        for (int c = 0; c < 3; c++) outColor[c] = new float[n];
        var outAlpha = new float[n];
        foreach (var (radius, repeats) in new[] { (256f, 1), (64f, 1), (16f, 2), (4f, 4), (2f, 2), (0f, 1) })
        {
            var a = GaussianBlur(alpha, w, h, radius);
            var rgb = premultiplied.Select(p => GaussianBlur(p, w, h, radius)).ToArray();
            for (int k = 0; k < repeats; k++)
            {
                for (int i = 0; i < n; i++)
                {
                    float sa = a[i];
                    if (sa <= 0) continue;
                    float keep = 1 - sa, da = outAlpha[i], oa = sa + da * keep;
                    for (int c = 0; c < 3; c++)
                    {
                        float src = rgb[c][i] / sa;   // un-premultiplied source colour
                        outColor[c][i] = (src * sa + outColor[c][i] * da * keep) / oa;
                    }
                    outAlpha[i] = oa;
                }
            }
        }
        var pixels = new byte[3 * n];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < 3; c++) pixels[3 * i + c] = (byte)Math.Clamp(MathF.Round(outColor[c][i]), 0, 255);
        }
        return new RgbImage(w, h, pixels);
    }

    /// <summary>result = generated·m + original·(1 − m) with m = <paramref name="mask"/>/255 per pixel (all three images the same size).</summary>
    public static RgbImage Composite(RgbImage generated, RgbImage original, byte[] mask)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(original);
        if (generated.Width != original.Width || generated.Height != original.Height || mask.Length != generated.Width * generated.Height)
        {
            throw new ArgumentException($"Composite needs equal sizes: {generated.Width}x{generated.Height}, {original.Width}x{original.Height}, mask of {mask.Length} pixels.");
        }
        var pixels = new byte[generated.Pixels.Length];
        for (int i = 0; i < mask.Length; i++)
        {
            int m = mask[i];
            for (int c = 0; c < 3; c++)
            {
                int k = 3 * i + c;
                pixels[k] = (byte)((generated.Pixels[k] * m + original.Pixels[k] * (255 - m) + 127) / 255);
            }
        }
        return new RgbImage(generated.Width, generated.Height, pixels);
    }

    /// <summary>A grey <see cref="RgbImage"/> of a plane (for resampling it with the image operations).</summary>
    public static RgbImage ToGrey(byte[] plane, int width, int height)
    {
        var pixels = new byte[3 * plane.Length];
        for (int i = 0; i < plane.Length; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = plane[i];
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The red channel of an image (the plane of a grey image made by <see cref="ToGrey"/>).</summary>
    public static byte[] FromGrey(RgbImage image)
    {
        var plane = new byte[image.Width * image.Height];
        for (int i = 0; i < plane.Length; i++) plane[i] = image.Pixels[3 * i];
        return plane;
    }

    /// <summary>Radii of three box blurs whose combined variance is σ² (the "boxes for Gauss" construction).</summary>
    private static int[] BoxRadii(float sigma)
    {
        const int n = 3;
        double ideal = Math.Sqrt(12 * sigma * sigma / n + 1);
        int lower = (int)Math.Floor(ideal);
        if (lower % 2 == 0) lower--;
        int upper = lower + 2;
        double m = Math.Round((12 * sigma * sigma - n * lower * lower - 4 * n * lower - 3 * n) / (-4 * lower - 4));
        return Enumerable.Range(0, n).Select(i => ((i < m ? lower : upper) - 1) / 2).ToArray();
    }

    /// <summary>One box blur of radius r along rows or columns, with clamped (repeated) borders, in O(pixels).</summary>
    private static void BoxPass(float[] src, float[] dst, int width, int height, int r, bool horizontal)
    {
        int lines = horizontal ? height : width, length = horizontal ? width : height;
        int step = horizontal ? 1 : width;
        float scale = 1f / (2 * r + 1);
        for (int line = 0; line < lines; line++)
        {
            int start = horizontal ? line * width : line;
            double sum = 0;
            for (int k = -r; k <= r; k++) sum += src[start + Math.Clamp(k, 0, length - 1) * step];
            for (int x = 0; x < length; x++)
            {
                dst[start + x * step] = (float)(sum * scale);
                int add = Math.Min(x + r + 1, length - 1), remove = Math.Max(x - r, 0);
                sum += src[start + add * step] - src[start + remove * step];
            }
        }
    }
}

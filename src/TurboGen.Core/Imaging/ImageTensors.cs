using System.Numerics;

namespace TurboGen.Imaging;

/// <summary>
/// Converts between <see cref="RgbImage"/> and planar float tensors [3, H, W] with exactly the arithmetic of
/// diffusers' VaeImageProcessor: <c>normalize</c> is <c>2·(x/255) − 1</c>; <c>denormalize</c> +
/// <c>numpy_to_pil</c> is <c>clamp(x·0.5 + 0.5, 0, 1)</c> then <c>round(x·255)</c> (round half to even, as
/// numpy), all in float32.
/// </summary>
public static class ImageTensors
{
    /// <summary>
    /// Writes <paramref name="image"/> as [3, H, W] planes (R, G, B) into <paramref name="destination"/>, which must
    /// hold exactly <c>3·W·H</c> floats: <c>x/255</c>, then <c>2x − 1</c> when <paramref name="minusOneToOne"/>.
    /// </summary>
    public static void ToNchw(RgbImage image, Span<float> destination, bool minusOneToOne = true)
    {
        ArgumentNullException.ThrowIfNull(image);
        int plane = image.Width * image.Height;
        if (destination.Length != 3 * plane)
        {
            throw new ArgumentException(
                $"Destination holds {destination.Length} floats; a {image.Width}x{image.Height} image needs {3 * plane}.",
                nameof(destination));
        }
        byte[] pixels = image.Pixels;
        Span<float> r = destination[..plane];
        Span<float> g = destination.Slice(plane, plane);
        Span<float> b = destination.Slice(2 * plane, plane);
        for (int i = 0; i < plane; i++)
        {
            r[i] = Normalize(pixels[3 * i], minusOneToOne);
            g[i] = Normalize(pixels[3 * i + 1], minusOneToOne);
            b[i] = Normalize(pixels[3 * i + 2], minusOneToOne);
        }
    }

    /// <summary>
    /// Builds an image from [3, H, W] planes. NaN becomes 0 (check <see cref="ContainsNonFinite"/> first to report
    /// it); ±∞ clamp like any other out-of-range value.
    /// </summary>
    public static RgbImage FromNchw(ReadOnlySpan<float> chw, int width, int height, ImageRange range)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"Image size must be positive, got {width}x{height}.");
        }
        long plane = (long)width * height;
        if (chw.Length != 3 * plane)
        {
            throw new ArgumentException($"Tensor holds {chw.Length} floats; a {width}x{height} image needs {3 * plane}.", nameof(chw));
        }
        int n = (int)plane;
        var pixels = new byte[3 * n];
        for (int c = 0; c < 3; c++)
        {
            ReadOnlySpan<float> source = chw.Slice(c * n, n);
            for (int i = 0; i < n; i++)
            {
                pixels[3 * i + c] = ToByte(source[i], range);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>True if any value is NaN or ±∞.</summary>
    public static bool ContainsNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            // x − x is 0 for every finite x and NaN for NaN and ±∞.
            var zero = Vector<float>.Zero;
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values.Slice(i, Vector<float>.Count));
                if (!Vector.EqualsAll(v - v, zero))
                {
                    return true;
                }
            }
        }
        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return true;
            }
        }
        return false;
    }

    private static float Normalize(byte value, bool minusOneToOne)
    {
        float x = value / 255f;
        return minusOneToOne ? 2f * x - 1f : x;
    }

    private static byte ToByte(float value, ImageRange range)
    {
        if (float.IsNaN(value))
        {
            return 0;
        }
        float x = range == ImageRange.MinusOneToOne ? value * 0.5f + 0.5f : value;
        x = Math.Clamp(x, 0f, 1f);
        return (byte)MathF.Round(x * 255f, MidpointRounding.ToEven);
    }
}

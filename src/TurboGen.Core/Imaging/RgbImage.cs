namespace TurboGen.Imaging;

/// <summary>
/// An 8-bit RGB image: <see cref="Pixels"/> holds <c>Width × Height × 3</c> bytes, row-major, R G B per pixel,
/// no row padding and no alpha. The array is shared, not copied.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied).</summary>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <param name="pixels">Exactly width × height × 3 bytes (RGB, row-major); another length throws <see cref="ArgumentException"/>.</param>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"Image size must be positive, got {width}x{height}.");
        }
        long expected = (long)width * height * 3;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException(
                $"An RGB image of {width}x{height} needs {expected} bytes, got {pixels.LongLength}.", nameof(pixels));
        }
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels (≥ 1).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (≥ 1).</summary>
    public int Height { get; }

    /// <summary>RGB24 bytes, row-major, <c>Width × 3</c> bytes per row.</summary>
    public byte[] Pixels { get; }
}

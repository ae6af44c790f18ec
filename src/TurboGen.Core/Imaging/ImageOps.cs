using SkiaSharp;

namespace TurboGen.Imaging;

/// <summary>Geometric operations on <see cref="RgbImage"/> (SkiaSharp resampling).</summary>
public static class ImageOps
{
    /// <summary>
    /// Scales <paramref name="image"/> uniformly so it covers <paramref name="width"/>×<paramref name="height"/>,
    /// then crops the centre to exactly that size. The final resampling is Catmull-Rom bicubic (the cubic of PIL's
    /// BICUBIC; interpolating, so a same-size crop is pixel-exact); when shrinking, the covered region is first
    /// halved with bilinear steps (each a 2×2 average, so no aliasing) while it is more than twice the target.
    /// </summary>
    public static RgbImage ResizeCover(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"Target size must be positive, got {width}x{height}.");
        }
        double scale = Math.Max((double)width / image.Width, (double)height / image.Height);
        double cropWidth = width / scale;
        double cropHeight = height / scale;
        var crop = SKRect.Create(
            (float)((image.Width - cropWidth) / 2), (float)((image.Height - cropHeight) / 2), (float)cropWidth, (float)cropHeight);

        SKBitmap current = ImageCodec.ToBitmap(image);
        try
        {
            while (crop.Width > 2 * width && crop.Height > 2 * height)
            {
                int halfWidth = Math.Max(width, (int)Math.Round(crop.Width / 2));
                int halfHeight = Math.Max(height, (int)Math.Round(crop.Height / 2));
                SKBitmap half = Draw(current, crop, halfWidth, halfHeight, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
                current.Dispose();
                current = half;
                crop = SKRect.Create(0, 0, halfWidth, halfHeight);
            }
            using SKBitmap result = Draw(current, crop, width, height, new SKSamplingOptions(SKCubicResampler.CatmullRom));
            return ImageCodec.FromBitmap(result);
        }
        finally
        {
            current.Dispose();
        }
    }

    private static SKBitmap Draw(SKBitmap source, SKRect sourceRect, int width, int height, SKSamplingOptions sampling)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque, SKColorSpace.CreateSrgb());
        var target = new SKBitmap(info);
        using var image = SKImage.FromBitmap(source);
        using var canvas = new SKCanvas(target);
        using var paint = new SKPaint { IsAntialias = false };
        canvas.DrawImage(image, sourceRect, SKRect.Create(0, 0, width, height), sampling, paint);
        return target;
    }
}

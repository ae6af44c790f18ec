namespace TurboGen.Upscaling;

/// <summary>
/// The one size rule of upscaling, shared by the CLI and every API: the input at most <see cref="MaxInputSide"/> per side,
/// the factor in [1, <see cref="MaxScale"/>], the output at most <see cref="MaxOutputSide"/> per side. Violations name the field.
/// </summary>
public static class UpscaleLimits
{
    /// <summary>The largest input side in pixels: 4096.</summary>
    public const int MaxInputSide = 4096;

    /// <summary>The largest output side in pixels: 8192.</summary>
    public const int MaxOutputSide = 8192;

    /// <summary>The largest factor: 4 (factors from 1 to 4 are accepted).</summary>
    public const float MaxScale = 4f;

    /// <summary>The output size for an input and a factor (rounded to whole pixels), after checking both.</summary>
    public static (int Width, int Height) Target(int width, int height, double scale, string imageField = "image", string scaleField = "scale")
    {
        CheckInput(width, height, imageField);
        if (!double.IsFinite(scale) || scale < 1 || scale > MaxScale)
        {
            throw new InvalidRequestException(scaleField, $"{scaleField} must be between 1 and {MaxScale} (got {scale}).");
        }
        return CheckOutput((int)Math.Round(width * scale), (int)Math.Round(height * scale), scaleField);
    }

    /// <summary>Checks an input image's size.</summary>
    public static void CheckInput(int width, int height, string field = "image")
    {
        if (width > MaxInputSide || height > MaxInputSide)
        {
            throw new InvalidRequestException(field, $"{field} is {width}x{height}; images up to {MaxInputSide}x{MaxInputSide} can be upscaled.");
        }
    }

    /// <summary>Checks an output size.</summary>
    public static (int Width, int Height) CheckOutput(int width, int height, string field)
    {
        if (width < 1 || height < 1 || width > MaxOutputSide || height > MaxOutputSide)
        {
            throw new InvalidRequestException(field, $"{field} gives a {width}x{height} result; upscaled images are at most {MaxOutputSide}x{MaxOutputSide}.");
        }
        return (width, height);
    }
}

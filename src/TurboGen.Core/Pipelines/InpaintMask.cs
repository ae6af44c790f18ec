using TurboGen.Imaging;

namespace TurboGen.Pipelines;

/// <summary>How the masked area of the init image starts (AUTOMATIC1111's <c>inpainting_fill</c>: 0 fill, 1 original, 2 latent noise, 3 latent nothing).</summary>
public enum InpaintFill
{
    /// <summary>The masked pixels are replaced by the colours around them before encoding (<see cref="MaskOps.Fill"/>).</summary>
    Fill = 0,
    /// <summary>The image as it is (diffusers' semantics).</summary>
    Original = 1,
    /// <summary>The masked area of the image latents is replaced by N(0,1) noise.</summary>
    LatentNoise = 2,
    /// <summary>The masked area of the image latents is set to zero.</summary>
    LatentNothing = 3,
}

/// <summary>
/// The inpainting mask of a request: <see cref="Values"/> (one byte per pixel of the init image; ≥ 128 = repaint after
/// <see cref="Invert"/> and <see cref="Blur"/>) and how it is applied. The mask must have the init image's size.
/// </summary>
public sealed record InpaintMask
{
    /// <summary>Largest <see cref="Blur"/> σ in pixels.</summary>
    public const int MaxBlur = 64;

    /// <summary>Largest <see cref="Padding"/> in pixels.</summary>
    public const int MaxPadding = 256;

    /// <summary>A mask of <paramref name="width"/>×<paramref name="height"/> pixels.</summary>
    /// <param name="width">Mask width in pixels (the init image's).</param>
    /// <param name="height">Mask height in pixels (the init image's).</param>
    /// <param name="values">Row-major, one byte per pixel: 255 repaint, 0 keep; exactly width × height values.</param>
    /// <exception cref="ArgumentException">The size is not positive or <paramref name="values"/> has another length.</exception>
    public InpaintMask(int width, int height, byte[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (width <= 0 || height <= 0 || values.Length != (long)width * height)
        {
            throw new ArgumentException($"A {width}x{height} mask needs {(long)width * height} values, got {values.Length}.", nameof(values));
        }
        Width = width;
        Height = height;
        Values = values;
    }

    /// <summary>A mask from a picture: its luminance (PIL's <c>convert("L")</c>); white repaints, black keeps.</summary>
    public static InpaintMask FromImage(RgbImage image) => new(image.Width, image.Height, MaskOps.Luminance(image));

    /// <summary>A mask from an alpha plane with OpenAI's semantics: fully transparent pixels (alpha 0) are repainted, all others kept.</summary>
    public static InpaintMask FromTransparency(byte[] alpha, int width, int height) =>
        new(width, height, alpha.Select(a => a == 0 ? (byte)255 : (byte)0).ToArray());

    /// <summary>Mask width in pixels.</summary>
    public int Width { get; }

    /// <summary>Mask height in pixels.</summary>
    public int Height { get; }

    /// <summary>Row-major, one byte per pixel: 255 repaint, 0 keep (values between are partial until binarised at 128).</summary>
    public byte[] Values { get; }

    /// <summary>Gaussian blur σ in pixels (0–64) applied to the mask; with a blur the result is feathered into the original through it.</summary>
    public int Blur { get; init; }

    /// <summary>Repaint the unmasked area instead.</summary>
    public bool Invert { get; init; }

    /// <summary>"Only masked" / full resolution: generate the mask's bounding box (plus <see cref="Padding"/>) at the requested size and paste it back.</summary>
    public bool FullResolution { get; init; }

    /// <summary>Pixels added around the mask's bounding box in <see cref="FullResolution"/> mode (0–256).</summary>
    public int Padding { get; init; } = 32;

    /// <summary>How the masked area starts.</summary>
    public InpaintFill Fill { get; init; } = InpaintFill.Original;

    /// <summary>Checks the fields and that the mask fits an init image of <paramref name="imageWidth"/>×<paramref name="imageHeight"/>.</summary>
    /// <exception cref="InvalidRequestException">Naming "mask", "mask_blur", "inpaint_full_res_padding" or "inpainting_fill".</exception>
    public void Validate(int imageWidth, int imageHeight)
    {
        if (Width != imageWidth || Height != imageHeight)
            throw new InvalidRequestException("mask", $"The mask is {Width}x{Height} but the image is {imageWidth}x{imageHeight}; they must be the same size.");
        if (Blur is < 0 or > MaxBlur)
            throw new InvalidRequestException("mask_blur", $"mask blur must be between 0 and {MaxBlur} pixels (got {Blur}).");
        if (Padding is < 0 or > MaxPadding)
            throw new InvalidRequestException("inpaint_full_res_padding", $"padding must be between 0 and {MaxPadding} pixels (got {Padding}).");
        if (!Enum.IsDefined(Fill))
            throw new InvalidRequestException("inpainting_fill", $"inpainting fill must be 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing) (got {(int)Fill}).");
    }

    /// <summary>The mask as used: inverted if asked, then blurred (one byte per pixel at the mask's size).</summary>
    public byte[] Processed()
    {
        var values = Invert ? Values.Select(v => (byte)(255 - v)).ToArray() : Values;
        return Blur > 0 ? MaskOps.GaussianBlur(values, Width, Height, Blur) : values;
    }
}

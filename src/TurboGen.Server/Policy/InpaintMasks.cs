using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>
/// The one way the native API and the real-time protocol turn a client's mask into an <see cref="InpaintMask"/>: decoded by
/// <see cref="InputImages"/> (luminance: white repaints, black keeps), then checked against the init image by
/// <see cref="InpaintMask.Validate"/>. Errors name the caller's own field names (<see cref="Fields"/>).
/// </summary>
public static class InpaintMasks
{
    /// <summary>How a front end spells the mask fields (the native API: mask, init_image, mask_blur, inpaint_full_res_padding, inpainting_fill).</summary>
    public sealed record Fields(string Mask, string Image, string Blur, string Padding, string Fill)
    {
        public static Fields Native { get; } = new("mask", "init_image", "mask_blur", "inpaint_full_res_padding", "inpainting_fill");
    }

    /// <summary>The fill names of <see cref="InpaintFill"/>: original (default), fill, latent_noise, latent_nothing.</summary>
    public static InpaintFill ParseFill(string field, string? fill) => fill?.Trim().ToLowerInvariant() switch
    {
        null or "" or "original" => InpaintFill.Original,
        "fill" => InpaintFill.Fill,
        "latent_noise" => InpaintFill.LatentNoise,
        "latent_nothing" => InpaintFill.LatentNothing,
        _ => throw new InvalidRequestException(field, $"{field} '{fill}' is not one of original, fill, latent_noise, latent_nothing."),
    };

    /// <summary>
    /// The mask decoded from <paramref name="maskImage"/> with its options, checked against <paramref name="init"/>.
    /// </summary>
    /// <exception cref="InvalidRequestException">No init image, a mask of another size, or an option out of range (naming the field).</exception>
    public static InpaintMask Create(Fields fields, RgbImage maskImage, RgbImage? init, int blur, bool invert = false, bool fullResolution = false,
        int padding = 32, InpaintFill fill = InpaintFill.Original)
    {
        if (init is null) throw new InvalidRequestException(fields.Mask, $"{fields.Mask} needs an {fields.Image} to inpaint.");
        var mask = InpaintMask.FromImage(maskImage) with { Blur = blur, Invert = invert, FullResolution = fullResolution, Padding = padding, Fill = fill };
        try
        {
            mask.Validate(init.Width, init.Height);
        }
        catch (InvalidRequestException e)
        {
            string field = e.Parameter switch
            {
                "mask" => fields.Mask,
                "mask_blur" => fields.Blur,
                "inpaint_full_res_padding" => fields.Padding,
                "inpainting_fill" => fields.Fill,
                _ => e.Parameter,
            };
            throw new InvalidRequestException(field, e.Message.Replace("mask blur", field, StringComparison.Ordinal));
        }
        return mask;
    }
}

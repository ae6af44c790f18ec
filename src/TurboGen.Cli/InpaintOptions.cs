using System.CommandLine;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Cli;

/// <summary>
/// The inpainting options of <c>generate</c>: <c>--mask FILE</c> (white repaints, black keeps; read as luminance, so transparent
/// pixels count as white), <c>--mask-blur</c>, <c>--mask-invert</c>, <c>--full-res</c> with <c>--padding</c>, and <c>--fill</c>.
/// </summary>
internal sealed class InpaintOptions
{
    public Option<string?> Mask { get; } = new("--mask")
    {
        Description = "Inpainting mask, the init image's size: white repaints, black keeps (needs --init).",
        HelpName = "FILE",
    };

    public Option<int> Blur { get; } = new("--mask-blur")
    {
        Description = $"Blur the mask by this many pixels (Gaussian σ, 0–{InpaintMask.MaxBlur}) and feather the result into the init image.",
        DefaultValueFactory = _ => 0,
    };

    public Option<bool> Invert { get; } = new("--mask-invert") { Description = "Repaint the black part of the mask instead." };

    public Option<bool> FullRes { get; } = new("--full-res")
    {
        Description = "Inpaint only the masked area (its bounding box plus --padding) at the full --size, then paste it back.",
    };

    public Option<int> Padding { get; } = new("--padding")
    {
        Description = $"Pixels around the mask's bounding box with --full-res (0–{InpaintMask.MaxPadding}).",
        DefaultValueFactory = _ => 32,
    };

    public Option<string> Fill { get; } = new("--fill")
    {
        Description = "How the masked area starts: original (default), fill (colours from around it), latent-noise or latent-nothing.",
        DefaultValueFactory = _ => "original",
    };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Mask, Blur, Invert, FullRes, Padding, Fill }) command.Options.Add(option);
    }

    /// <summary>The mask the options describe, or null without <c>--mask</c>.</summary>
    /// <exception cref="InvalidRequestException">No init image, an unreadable mask file or an unknown --fill (naming the option).</exception>
    public InpaintMask? Read(ParseResult parse, bool hasInitImage)
    {
        string? path = parse.GetValue(Mask);
        if (path is null)
        {
            foreach (var option in new Option[] { Blur, Invert, FullRes, Padding, Fill })
            {
                if (parse.GetResult(option) is { Implicit: false }) throw new InvalidRequestException(option.Name, $"{option.Name} applies to inpainting only: add --mask FILE.");
            }
            return null;
        }
        if (!hasInitImage) throw new InvalidRequestException("--mask", "a mask needs the image to inpaint: add --init FILE.");
        var fill = parse.GetValue(Fill) switch
        {
            "original" => InpaintFill.Original,
            "fill" => InpaintFill.Fill,
            "latent-noise" => InpaintFill.LatentNoise,
            "latent-nothing" => InpaintFill.LatentNothing,
            var other => throw new InvalidRequestException("--fill", $"unknown fill '{other}': use original, fill, latent-noise or latent-nothing."),
        };
        RgbImage image;
        try
        {
            image = ImageCodec.Load(path);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException("--mask", e.Message);
        }
        return InpaintMask.FromImage(image) with
        {
            Blur = parse.GetValue(Blur),
            Invert = parse.GetValue(Invert),
            FullResolution = parse.GetValue(FullRes),
            Padding = parse.GetValue(Padding),
            Fill = fill,
        };
    }
}

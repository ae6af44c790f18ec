using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>How a control image of another aspect ratio is fitted to the output size (the A1111 ControlNet extension's resize modes).</summary>
public enum ControlFit
{
    /// <summary>Stretched to width × height (diffusers' ControlNet pipelines; A1111 "Just Resize", 0).</summary>
    Stretch,

    /// <summary>Scaled to cover width × height, the centre kept (A1111 "Crop and Resize", 1).</summary>
    Crop,

    /// <summary>Scaled to fit inside width × height, the rest filled with the median colour of its border (A1111 "Resize and Fill", 2).</summary>
    Fill,
}

/// <summary>
/// The one way the HTTP APIs turn a client's image into a ControlNet control image: optional scaling to a preprocessor resolution
/// (shorter side, Lanczos), the engine's preprocessor module (<see cref="ControlPreprocessor"/>), then the fit to the output size.
/// The engine then stretches the result to the output size (a no-op after <see cref="ControlFit.Crop"/> and <see cref="ControlFit.Fill"/>).
/// </summary>
public static class ControlImages
{
    /// <summary>Engine modules the APIs offer (the ONNX-model modules need a preprocessor model, which a server does not load).</summary>
    public static IReadOnlyList<string> Modules { get; } = ["none", "canny", "scribble", "invert", "lineart"];

    /// <summary>Preprocessor resolutions accepted (the A1111 extension's slider range).</summary>
    public const int MinResolution = 64, MaxResolution = 2048;

    /// <summary>Runs <paramref name="module"/> (one of <see cref="Modules"/>) and fits the result to <paramref name="width"/> × <paramref name="height"/>.</summary>
    /// <param name="field">The request field of the module, named in errors.</param>
    /// <param name="resolution">When set and the module is not "none": the image is first scaled so its shorter side has this many pixels.</param>
    public static RgbImage Prepare(string field, string module, RgbImage image, int width, int height, ControlFit fit,
        double? low = null, double? high = null, int? resolution = null) =>
        Fit(Preprocess(field, module, image, low, high, resolution), width, height, fit);

    /// <summary>Runs <paramref name="module"/> after the optional scaling to <paramref name="resolution"/> (the detected map, not yet fitted).</summary>
    public static RgbImage Preprocess(string field, string module, RgbImage image, double? low = null, double? high = null, int? resolution = null)
    {
        if (!Modules.Contains(module))
        {
            throw new InvalidRequestException(field, $"Unknown ControlNet preprocessor '{module}'; available: {string.Join(", ", Modules)}.");
        }
        if (module != "none" && resolution is int side)
        {
            double k = (double)side / Math.Min(image.Width, image.Height);
            image = LanczosResize.Resize(image, Math.Max(1, (int)Math.Round(image.Width * k)), Math.Max(1, (int)Math.Round(image.Height * k)));
        }
        return ControlPreprocessor.Apply(module, image, low, high);
    }

    /// <summary>Fits <paramref name="image"/> to <paramref name="width"/> × <paramref name="height"/> by <paramref name="fit"/>.</summary>
    public static RgbImage Fit(RgbImage image, int width, int height, ControlFit fit)
    {
        if (image.Width == width && image.Height == height) return image;
        return fit switch
        {
            ControlFit.Crop => ImageOps.ResizeCover(image, width, height),
            ControlFit.Fill => Pad(image, width, height),
            _ => image,
        };
    }

    private static RgbImage Pad(RgbImage image, int width, int height)
    {
        double k = Math.Min((double)width / image.Width, (double)height / image.Height);
        int w = Math.Clamp((int)Math.Round(image.Width * k), 1, width), h = Math.Clamp((int)Math.Round(image.Height * k), 1, height);
        var inner = LanczosResize.Resize(image, w, h);
        var background = BorderMedian(image);
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++) background.CopyTo(pixels, 3 * i);
        int top = (height - h) / 2, left = (width - w) / 2;
        for (int y = 0; y < h; y++)
        {
            Array.Copy(inner.Pixels, y * w * 3, pixels, ((top + y) * width + left) * 3, w * 3);
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The per-channel median of the image's outermost rows and columns.</summary>
    private static byte[] BorderMedian(RgbImage image)
    {
        var border = new List<int>();
        for (int x = 0; x < image.Width; x++)
        {
            border.Add(x);
            border.Add((image.Height - 1) * image.Width + x);
        }
        for (int y = 0; y < image.Height; y++)
        {
            border.Add(y * image.Width);
            border.Add(y * image.Width + image.Width - 1);
        }
        var median = new byte[3];
        for (int c = 0; c < 3; c++)
        {
            var values = border.Select(i => image.Pixels[3 * i + c]).Order().ToList();
            median[c] = values[values.Count / 2];
        }
        return median;
    }
}

using TurboGen.Imaging;

namespace TurboGen.Upscaling;

/// <summary>An upscaler by name ("Lanczos", or an ESRGAN model's file name): enlarges an image to an exact size.</summary>
public interface IUpscaler
{
    /// <summary>The name clients choose it by (A1111's <c>upscaler_1</c>, <c>hr_upscaler</c>; the CLI's <c>--model</c>).</summary>
    string Name { get; }

    /// <summary>The network's own factor (ESRGAN 4 or 2), or null for a resampler that takes any size.</summary>
    int? NativeScale { get; }

    /// <summary>The image enlarged to exactly <paramref name="width"/>×<paramref name="height"/>.</summary>
    RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default);
}

/// <summary>The Lanczos-3 resampler as an upscaler (A1111's "Lanczos"): no model, any size.</summary>
public sealed class LanczosUpscaler : IUpscaler
{
    public const string UpscalerName = "Lanczos";
    public static LanczosUpscaler Instance { get; } = new();
    public string Name => UpscalerName;
    public int? NativeScale => null;

    public RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default) =>
        LanczosResampler.ResizeCover(image, width, height);
}

/// <summary>
/// An ESRGAN network as an upscaler, as A1111 applies one: the network is run (tiled) until the image covers the target,
/// at most three times, then Lanczos resizes (and centre-crops, if the aspect ratio differs) to the exact target.
/// Runs are serialised: one tile at a time per model, so memory stays bounded however many requests arrive.
/// </summary>
public sealed class EsrganUpscaler(EsrganModel model, TileOptions? tiles = null) : IUpscaler, IDisposable
{
    private readonly Lock _lock = new();

    public EsrganModel Model { get; } = model;
    public TileOptions Tiles { get; } = tiles ?? TileOptions.Default;
    public string Name => Model.Name;
    public int? NativeScale => Model.Scale;

    /// <summary>ONNX Runtime milliseconds of the last <see cref="Upscale"/> call.</summary>
    public double LastOnnxMilliseconds { get; private set; }

    public RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        lock (_lock)
        {
            double onnx = 0;
            var current = image;
            for (int pass = 0; pass < 3 && (current.Width < width || current.Height < height) && Model.Scale > 1; pass++)
            {
                current = TiledUpscaler.Run(current, Model.Scale, Model.InputMultiple, Tiles, (tile, ct) =>
                {
                    var (output, ms) = Model.Upscale(tile, ct);
                    onnx += ms;
                    return output;
                }, cancellationToken);
            }
            LastOnnxMilliseconds = onnx;
            return LanczosResampler.ResizeCover(current, width, height);
        }
    }

    public void Dispose() => Model.Dispose();
}

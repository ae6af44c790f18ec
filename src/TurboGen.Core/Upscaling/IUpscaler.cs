using TurboGen.Imaging;

namespace TurboGen.Upscaling;

/// <summary>An upscaler by name ("Lanczos", or an ESRGAN model's file name): enlarges an image to an exact size.</summary>
public interface IUpscaler
{
    /// <summary>The name clients choose it by (A1111's <c>upscaler_1</c>, <c>hr_upscaler</c>; the CLI's <c>--model</c>).</summary>
    string Name { get; }

    /// <summary>The network's own factor (ESRGAN 4 or 2), or null for a resampler that takes any size.</summary>
    int? NativeScale { get; }

    /// <summary>The image enlarged to exactly <paramref name="width"/>×<paramref name="height"/>; a tiled network reports
    /// (tiles done, tiles in all) to <paramref name="progress"/> after each tile, synchronously on the calling thread (a resampler reports nothing).</summary>
    RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default, IProgress<(int Done, int Total)>? progress = null);
}

/// <summary>The Lanczos-3 resampler as an upscaler (A1111's "Lanczos"): no model, any size.</summary>
public sealed class LanczosUpscaler : IUpscaler
{
    /// <summary>The name it is chosen by: "Lanczos".</summary>
    public const string UpscalerName = "Lanczos";

    /// <summary>The one instance (it holds no state).</summary>
    public static LanczosUpscaler Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => UpscalerName;

    /// <summary>Null: the resampler takes any size.</summary>
    public int? NativeScale => null;

    /// <summary>Lanczos-3 to cover <paramref name="width"/>×<paramref name="height"/> keeping the aspect ratio, then a centre crop (A1111's "crop and resize");
    /// <paramref name="cancellationToken"/> is not observed and nothing is reported to <paramref name="progress"/> (one step, no tiles).</summary>
    public RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default, IProgress<(int Done, int Total)>? progress = null) =>
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

    /// <summary>The loaded network (its name, native scale and ONNX session); disposed with this upscaler.</summary>
    public EsrganModel Model { get; } = model;

    /// <summary>How the input is tiled for each network run (<see cref="TileOptions.Default"/> unless given).</summary>
    public TileOptions Tiles { get; } = tiles ?? TileOptions.Default;

    /// <inheritdoc/>
    public string Name => Model.Name;

    /// <summary>The network's own factor (<see cref="EsrganModel.Scale"/>, e.g. 4 for RealESRGAN_x4plus).</summary>
    public int? NativeScale => Model.Scale;

    /// <summary>ONNX Runtime milliseconds of the last <see cref="Upscale"/> call.</summary>
    public double LastOnnxMilliseconds { get; private set; }

    /// <summary>Runs the network tiled (up to three passes) until the image covers <paramref name="width"/>×<paramref name="height"/>,
    /// then Lanczos resizes and centre-crops to exactly that size. Concurrent calls wait for each other.</summary>
    /// <param name="image">The input image.</param>
    /// <param name="width">Target width in pixels.</param>
    /// <param name="height">Target height in pixels.</param>
    /// <param name="cancellationToken">Stops between and inside tile runs.</param>
    /// <param name="progress">Hears (tiles done, tiles in all) after each tile, counted over every pass.</param>
    public RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        var passTiles = new List<int>(); // the tiles of each pass the image needs
        for (long w = image.Width, h = image.Height; passTiles.Count < 3 && (w < width || h < height) && Model.Scale > 1; w *= Model.Scale, h *= Model.Scale)
        {
            passTiles.Add(TiledUpscaler.TileCount((int)w, (int)h, Model.InputMultiple, Tiles));
        }
        int total = passTiles.Sum();
        lock (_lock)
        {
            double onnx = 0;
            var current = image;
            for (int pass = 0, done = 0; pass < passTiles.Count; done += passTiles[pass], pass++)
            {
                current = TiledUpscaler.Run(current, Model.Scale, Model.InputMultiple, Tiles, (tile, ct) =>
                {
                    var (output, ms) = Model.Upscale(tile, ct);
                    onnx += ms;
                    return output;
                }, cancellationToken, progress is null ? null : new PassProgress(progress, done, total));
            }
            LastOnnxMilliseconds = onnx;
            return LanczosResampler.ResizeCover(current, width, height);
        }
    }

    /// <summary>Disposes <see cref="Model"/> (its ONNX session).</summary>
    public void Dispose() => Model.Dispose();

    /// <summary>One pass's tile count reported on top of the tiles of the passes before it (synchronously, unlike <see cref="Progress{T}"/>).</summary>
    private sealed class PassProgress(IProgress<(int Done, int Total)> outer, int before, int total) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => outer.Report((before + value.Done, total));
    }
}

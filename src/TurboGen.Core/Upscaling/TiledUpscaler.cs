using TurboGen.Imaging;
using TurboGen.Tensors;

namespace TurboGen.Upscaling;

/// <summary>
/// Runs an image-to-image network with a fixed integer scale over any image in bounded memory: tiles from
/// <see cref="TilePlan"/>, each run with its context padding, cropped to its core and blended into a <see cref="TileBlender"/>.
/// Network input is planar RGB in [0, 1], [1, 3, h, w]; a run region whose side is not a multiple of the network's
/// <c>multiple</c> (pixel-unshuffle) is reflect-padded on the right/bottom as Real-ESRGAN pre-pads, and the output cropped.
/// Tile starts and context are aligned to that multiple, so every tile sees the same pixel-unshuffle phase as the whole image.
/// </summary>
public static class TiledUpscaler
{
    /// <summary>Upscales <paramref name="image"/> by <paramref name="scale"/> with <paramref name="network"/> ([1,3,h,w] → [1,3,h·s,w·s]);
    /// <paramref name="progress"/> hears (tiles done, <see cref="TileCount"/>) after each tile, on the calling thread.</summary>
    public static RgbImage Run(RgbImage image, int scale, int multiple, TileOptions options, Func<FloatTensor, CancellationToken, FloatTensor> network,
        CancellationToken cancellationToken = default, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(network);
        var (xs, ys) = Plan(image.Width, image.Height, multiple, options);
        int pad = (options.Padding + multiple - 1) / multiple * multiple;
        int tallest = ys.Max(s => s.Length);
        var blender = new TileBlender(image.Width * scale, image.Height * scale, tallest * scale);
        int done = 0, total = xs.Count * ys.Count;
        foreach (var ySpan in ys)
        {
            blender.FinishRowsAbove(ySpan.Start * scale);
            foreach (var xSpan in xs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int rx0 = Math.Max(0, xSpan.Start - pad), rx1 = Math.Min(image.Width, xSpan.End + pad);
                int ry0 = Math.Max(0, ySpan.Start - pad), ry1 = Math.Min(image.Height, ySpan.End + pad);
                int rw = rx1 - rx0, rh = ry1 - ry0;
                int pw = RoundUp(rw, multiple), ph = RoundUp(rh, multiple);
                var input = Region(image, rx0, ry0, rw, rh, pw, ph);
                var output = network(new FloatTensor(input, [1, 3, ph, pw]), cancellationToken);
                long[] expected = [1, 3, (long)ph * scale, (long)pw * scale];
                if (!output.Shape.SequenceEqual(expected))
                {
                    throw new ModelContractException("upscaler", $"The upscaler returned [{string.Join(",", output.Shape)}] for a [1,3,{ph},{pw}] tile; expected [{string.Join(",", expected)}] (scale {scale}).");
                }
                var core = Crop(output.Data, pw * scale, ph * scale, (xSpan.Start - rx0) * scale, (ySpan.Start - ry0) * scale, xSpan.Length * scale, ySpan.Length * scale);
                var xw = xSpan;
                var yw = ySpan;
                blender.Add(core, xSpan.Start * scale, ySpan.Start * scale, xSpan.Length * scale, ySpan.Length * scale,
                    i => TilePlan.Weight(xw, i, scale), j => TilePlan.Weight(yw, j, scale));
                progress?.Report((++done, total));
            }
        }
        return blender.Finish();
    }

    /// <summary>How many tiles <see cref="Run"/> runs the network on for a <paramref name="width"/>×<paramref name="height"/> image.</summary>
    public static int TileCount(int width, int height, int multiple, TileOptions options)
    {
        var (xs, ys) = Plan(width, height, multiple, options);
        return xs.Count * ys.Count;
    }

    /// <summary>The tile spans across and down: tiles aligned to the network's multiple.</summary>
    private static (IReadOnlyList<TileSpan> Xs, IReadOnlyList<TileSpan> Ys) Plan(int width, int height, int multiple, TileOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int tile = Math.Max(multiple, options.Tile / multiple * multiple);
        return (TilePlan.Spans(width, tile, options.Overlap, multiple), TilePlan.Spans(height, tile, options.Overlap, multiple));
    }

    private static int RoundUp(int v, int m) => (v + m - 1) / m * m;

    /// <summary>The region [x0, x0+w) × [y0, y0+h) as planar [3, ph, pw] floats in [0, 1], reflect-padded to pw × ph.</summary>
    internal static float[] Region(RgbImage image, int x0, int y0, int w, int h, int pw, int ph)
    {
        var data = new float[3 * pw * ph];
        int plane = pw * ph;
        byte[] px = image.Pixels;
        for (int j = 0; j < ph; j++)
        {
            int sy = y0 + Reflect(j, h);
            for (int i = 0; i < pw; i++)
            {
                int sx = x0 + Reflect(i, w);
                long s = ((long)sy * image.Width + sx) * 3;
                int d = j * pw + i;
                data[d] = px[s] / 255f;
                data[plane + d] = px[s + 1] / 255f;
                data[2 * plane + d] = px[s + 2] / 255f;
            }
        }
        return data;
    }

    /// <summary>Index i of a side of length n reflected at its end (torch's "reflect": n → n − 2), clamped for tiny sides.</summary>
    private static int Reflect(int i, int n) => i < n ? i : Math.Clamp(2 * n - 2 - i, 0, n - 1);

    private static float[] Crop(float[] chw, int width, int height, int x0, int y0, int w, int h)
    {
        var result = new float[3 * w * h];
        for (int c = 0; c < 3; c++)
        {
            for (int j = 0; j < h; j++)
            {
                Array.Copy(chw, (long)c * width * height + (long)(y0 + j) * width + x0, result, (long)c * w * h + (long)j * w, w);
            }
        }
        return result;
    }
}

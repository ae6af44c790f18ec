using TurboGen.Imaging;

namespace TurboGen.Upscaling;

/// <summary>
/// Accumulates overlapping tile outputs into an 8-bit image with feathered seams, holding only a band of float rows: tiles
/// are added one tile row at a time from the top, and when the next tile row starts at output row y every row above y is
/// final, so it is divided by its weight sum, written to the image and its slot reused (a ring of <c>bandRows</c> rows).
/// Memory: the output bytes plus 4 floats per pixel of one band (tile height × width), whatever the image height.
/// </summary>
public sealed class TileBlender
{
    private readonly int _width, _height, _band;
    private readonly float[] _sum;     // [band, width, 3]
    private readonly float[] _weight;  // [band, width]
    private readonly byte[] _pixels;
    private int _finalized;            // rows [0, _finalized) are written

    /// <param name="width">Output width.</param>
    /// <param name="height">Output height.</param>
    /// <param name="bandRows">The tallest tile (in output rows): rows still open never span more.</param>
    public TileBlender(int width, int height, int bandRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        _width = width;
        _height = height;
        _band = Math.Clamp(bandRows, 1, height);
        _sum = new float[checked((long)_band * width * 3)];
        _weight = new float[(long)_band * width];
        _pixels = new byte[checked((long)width * height * 3)];
    }

    /// <summary>
    /// Adds a tile: <paramref name="rgb"/> holds planar [3, h, w] values in [0, 1] of the output rectangle at (<paramref name="x"/>,
    /// <paramref name="y"/>); <paramref name="weightX"/>(i) and <paramref name="weightY"/>(j) give the feather weight of column i / row j.
    /// </summary>
    public void Add(ReadOnlySpan<float> rgb, int x, int y, int w, int h, Func<int, float> weightX, Func<int, float> weightY)
    {
        if (y < _finalized || y + h > _finalized + _band || x < 0 || x + w > _width || y + h > _height)
        {
            throw new InvalidOperationException($"Tile ({x},{y}) {w}x{h} is outside the open band [{_finalized}, {_finalized + _band}) of a {_width}x{_height} image.");
        }
        var wx = new float[w];
        for (int i = 0; i < w; i++) wx[i] = weightX(i);
        int plane = w * h;
        for (int j = 0; j < h; j++)
        {
            float wy = weightY(j);
            int slot = (y + j) % _band;
            long rowSum = (long)slot * _width * 3, rowWeight = (long)slot * _width;
            for (int i = 0; i < w; i++)
            {
                float wt = wx[i] * wy;
                long p = rowSum + (long)(x + i) * 3;
                int src = j * w + i;
                _sum[p] += wt * rgb[src];
                _sum[p + 1] += wt * rgb[plane + src];
                _sum[p + 2] += wt * rgb[2 * plane + src];
                _weight[rowWeight + x + i] += wt;
            }
        }
    }

    /// <summary>Writes every row above <paramref name="y"/> (no later tile may touch them).</summary>
    public void FinishRowsAbove(int y)
    {
        y = Math.Min(y, _height);
        for (; _finalized < y; _finalized++)
        {
            int slot = _finalized % _band;
            long rowSum = (long)slot * _width * 3, rowWeight = (long)slot * _width, outRow = (long)_finalized * _width * 3;
            for (int i = 0; i < _width; i++)
            {
                float wt = _weight[rowWeight + i];
                if (wt <= 0)
                {
                    throw new InvalidOperationException($"Pixel ({i},{_finalized}) was not covered by any tile.");
                }
                for (int c = 0; c < 3; c++)
                {
                    long p = rowSum + i * 3 + c;
                    _pixels[outRow + i * 3 + c] = ToByte(_sum[p] / wt);
                    _sum[p] = 0;
                }
                _weight[rowWeight + i] = 0;
            }
        }
    }

    /// <summary>Finishes the remaining rows and returns the image.</summary>
    public RgbImage Finish()
    {
        FinishRowsAbove(_height);
        return new RgbImage(_width, _height, _pixels);
    }

    /// <summary>[0, 1] → byte as Real-ESRGAN and diffusers do: clamp, ×255, round half to even; NaN → 0.</summary>
    public static byte ToByte(float v) => float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f, MidpointRounding.ToEven);
}

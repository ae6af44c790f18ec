namespace TurboGen.Upscaling;

/// <summary>One tile along one axis: the core span [<see cref="Start"/>, <see cref="End"/>) it contributes, and how far it overlaps its neighbours.</summary>
public readonly record struct TileSpan(int Start, int End, int OverlapBefore, int OverlapAfter)
{
    /// <summary>The core's length in pixels (<see cref="End"/> − <see cref="Start"/>).</summary>
    public int Length => End - Start;
}

/// <summary>
/// How an image is cut into overlapping tiles. Along each axis the tiles are spread evenly: n = ⌈(L − overlap)/(tile − overlap)⌉
/// tiles of the tile length, the first at 0, the last ending at L, the starts equally spaced and rounded down to
/// <c>alignment</c> (so the last tile may be up to alignment − 1 longer), so every seam overlaps by at least <c>overlap</c>.
/// A side no longer than the tile is one tile.
/// </summary>
public static class TilePlan
{
    /// <summary>The tiles along an axis of <paramref name="length"/> pixels.</summary>
    public static IReadOnlyList<TileSpan> Spans(int length, int tile, int overlap, int alignment = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(alignment, 1);
        if (tile < 2 * overlap + alignment || overlap < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(overlap), $"overlap {overlap} must be ≥ 0 and at most half the tile ({tile}).");
        }
        if (length <= tile) return [new TileSpan(0, length, 0, 0)];
        int count = (int)Math.Ceiling((double)(length - overlap) / (tile - overlap));
        var starts = new int[count];
        for (int i = 0; i < count; i++)
        {
            starts[i] = (int)((long)i * (length - tile) / (count - 1)) / alignment * alignment;
        }
        var spans = new TileSpan[count];
        for (int i = 0; i < count; i++)
        {
            int start = starts[i], end = i == count - 1 ? length : start + tile;
            int before = i == 0 ? 0 : starts[i - 1] + tile - start; // tiles before the last are exactly `tile` long
            int after = i == count - 1 ? 0 : end - starts[i + 1];
            spans[i] = new TileSpan(start, end, before, after);
        }
        return spans;
    }

    /// <summary>
    /// The blending weight of position <paramref name="i"/> of a span: a linear ramp (i + ½)/overlap over each overlap with a
    /// neighbour, 1 elsewhere. The ramps of two neighbours over their shared pixels sum to 1; the blender divides by the weight
    /// sum in any case, so the result is a weighted average wherever several tiles cover a pixel, and exact where one does.
    /// </summary>
    public static float Weight(TileSpan span, int i, int scale = 1)
    {
        float w = 1f;
        int before = span.OverlapBefore * scale, after = span.OverlapAfter * scale, length = span.Length * scale;
        if (before > 0 && i < before) w = Math.Min(w, (i + 0.5f) / before);
        if (after > 0 && i >= length - after) w = Math.Min(w, (length - i - 0.5f) / after);
        return w;
    }
}

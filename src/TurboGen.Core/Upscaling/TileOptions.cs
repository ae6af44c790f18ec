namespace TurboGen.Upscaling;

/// <summary>
/// How the upscaler cuts the input into tiles (all in input pixels). Each tile's core is <see cref="Tile"/> pixels square and
/// overlaps its neighbours by at least <see cref="Overlap"/> pixels, where the outputs are feather-blended; each tile is run
/// with <see cref="Padding"/> extra pixels of context on every side (cut off again from the output), as Real-ESRGAN's
/// <c>tile_pad</c>, so the network sees the surroundings of its core. Memory per run grows with (tile + 2·padding)².
/// </summary>
public sealed record TileOptions
{
    /// <summary>Real-ESRGAN-sized defaults: 192-pixel cores, 16 overlap, 16 context (a 224² run: peak ≈ 0.7 GiB above the weights for x4plus, docs/PERFORMANCE.md).</summary>
    public static TileOptions Default { get; } = new();

    /// <summary>Side of a tile's core in input pixels, 16–2048 (default 192; the request field "tile").</summary>
    public int Tile { get; init; } = 192;

    /// <summary>Minimum overlap between neighbouring cores in input pixels, 0 to about half the tile (default 16; "tile_overlap").</summary>
    public int Overlap { get; init; } = 16;

    /// <summary>Extra context around each core in input pixels, 0–256 (default 16; "tile_padding").</summary>
    public int Padding { get; init; } = 16;

    /// <summary>Throws naming the bad field.</summary>
    public void Validate()
    {
        if (Tile is < 16 or > 2048)
            throw new InvalidRequestException("tile", $"tile must be between 16 and 2048 pixels (got {Tile}).");
        if (Overlap < 0 || 2 * Overlap > Tile - 4)
            throw new InvalidRequestException("tile_overlap", $"tile overlap must be between 0 and about half the tile (got {Overlap} for tile {Tile}).");
        if (Padding is < 0 or > 256)
            throw new InvalidRequestException("tile_padding", $"tile padding must be between 0 and 256 pixels (got {Padding}).");
    }
}

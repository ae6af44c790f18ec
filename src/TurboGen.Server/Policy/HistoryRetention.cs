namespace TurboGen.Server.Policy;

/// <summary>
/// How much the server keeps (<c>turbogen serve --history-max-images / --history-max-mb / --outdir-max-mb</c>). After
/// every kept image the owner's history is cut to <see cref="MaxImagesPerHistory"/> images and
/// <see cref="MaxBytesPerHistory"/> bytes, then the whole output folder (every history and the shared folder) to
/// <see cref="MaxBytesTotal"/> bytes, deleting the oldest images first — favourites only when nothing else is left
/// (see <see cref="Evictions"/>). A value ≤ 0 means no limit.
/// </summary>
public sealed record HistoryRetention
{
    public int MaxImagesPerHistory { get; init; } = 200;
    public long MaxBytesPerHistory { get; init; } = 512L * 1024 * 1024;
    public long MaxBytesTotal { get; init; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// Which files to delete so that at most <paramref name="maxImages"/> files and <paramref name="maxBytes"/> bytes remain
    /// (≤ 0: no limit): the oldest non-favourites first, then — only if that is not enough — the oldest favourites.
    /// <paramref name="files"/> may be in any order; age is the file name (kept-file names start with their UTC time).
    /// </summary>
    public static IReadOnlyList<KeptFile> Evictions(IReadOnlyList<KeptFile> files, int maxImages, long maxBytes)
    {
        int count = files.Count;
        long bytes = files.Sum(f => f.Bytes);
        bool Over() => (maxImages > 0 && count > maxImages) || (maxBytes > 0 && bytes > maxBytes);
        var evicted = new List<KeptFile>();
        foreach (var file in files.OrderBy(f => f.Favourite).ThenBy(f => f.Name, StringComparer.Ordinal))
        {
            if (!Over()) break;
            evicted.Add(file);
            count--;
            bytes -= file.Bytes;
        }
        return evicted;
    }
}

/// <summary>One kept file as retention sees it.</summary>
public readonly record struct KeptFile(string Path, string Name, long Bytes, bool Favourite);

using System.Collections.Concurrent;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>
/// One kept image as <c>GET /api/history</c> lists it. <see cref="GenerationRecord.Prompt"/> and
/// <see cref="GenerationRecord.NegativePrompt"/> are the prompts actually used (style applied; the negative only when
/// guidance was on). An upscaled picture has <see cref="Upscale"/> (upscaler, its size and its source's) instead of <see cref="Parameters"/>.
/// </summary>
public sealed record HistoryEntry(string File, string Url, DateTimeOffset CreatedAt, long Bytes, bool Favourite, GenerationRecord? Parameters, string? Infotext,
    UpscaleRecord? Upscale = null);

/// <summary>
/// The kept images (written by <see cref="OutputWriter"/>): PNGs with their generation parameters (A1111
/// <c>parameters</c> + TurboGen JSON chunks), one folder per owner (<see cref="HistoryOwner"/>) in
/// <see cref="ServerOptions.OutputDir"/>. Lists, serves, deletes and favourites an owner's images and never another's;
/// applies <see cref="HistoryRetention"/> after every kept image. Favourites are a small JSON list beside the images
/// (<c>.favourites.json</c>; dot files are never listed or served). Listing reads each file's metadata once and
/// remembers it by size and time.
/// </summary>
public sealed class OutputHistory(ServerOptions options)
{
    private const string FavouritesFile = ".favourites.json";
    private readonly ConcurrentDictionary<string, (DateTime Modified, long Bytes, GenerationRecord? Record, string? Infotext, UpscaleRecord? Upscale)> _index = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public string Directory { get; } = Path.GetFullPath(options.OutputDir);

    public HistoryRetention Retention => options.History;

    /// <summary>The folder an owner's images are kept in.</summary>
    public string FolderOf(HistoryOwner owner) => owner.IsShared ? Directory : Path.Combine(Directory, owner.Folder);

    /// <summary>The owner's newest <paramref name="limit"/> images, newest first.</summary>
    public IReadOnlyList<HistoryEntry> List(HistoryOwner owner, int limit)
    {
        var favourites = Favourites(owner);
        return Files(owner)
            .OrderByDescending(f => f.LastWriteTimeUtc).ThenByDescending(f => f.Name, StringComparer.Ordinal)
            .Take(limit)
            .Select(f => Entry(f, favourites.Contains(f.Name)))
            .OfType<HistoryEntry>()
            .ToList();
    }

    /// <summary>One of the owner's images, or null.</summary>
    public HistoryEntry? Find(HistoryOwner owner, string file) =>
        Resolve(owner, file) is { } path ? Entry(new FileInfo(path), Favourites(owner).Contains(file)) : null;

    /// <summary>The full path of one of the owner's images, or null when the name is not a plain PNG name in their folder.</summary>
    public string? Resolve(HistoryOwner owner, string file)
    {
        if (file.Length is 0 or > 200 || file.StartsWith('.') || !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase)
            || file.IndexOfAny(['/', '\\', '\0']) >= 0 || file.Contains("..", StringComparison.Ordinal)) return null;
        string path = Path.Combine(FolderOf(owner), file);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Deletes one of the owner's images; false when it has no such image.</summary>
    public bool Delete(HistoryOwner owner, string file)
    {
        lock (_lock)
        {
            if (Resolve(owner, file) is not { } path) return false;
            File.Delete(path);
            var favourites = Favourites(owner);
            if (favourites.Remove(file)) SaveFavourites(owner, favourites);
            return true;
        }
    }

    /// <summary>Deletes the owner's images (favourites too only when <paramref name="includingFavourites"/>); returns how many.</summary>
    public int Clear(HistoryOwner owner, bool includingFavourites)
    {
        lock (_lock)
        {
            var favourites = Favourites(owner);
            int deleted = 0;
            foreach (var file in Files(owner).Where(f => includingFavourites || !favourites.Contains(f.Name)))
            {
                file.Delete();
                deleted++;
            }
            if (includingFavourites && favourites.Count > 0) SaveFavourites(owner, []);
            return deleted;
        }
    }

    /// <summary>Marks or unmarks one of the owner's images as a favourite; null when it has no such image.</summary>
    public HistoryEntry? SetFavourite(HistoryOwner owner, string file, bool favourite)
    {
        lock (_lock)
        {
            if (Resolve(owner, file) is not { } path) return null;
            var favourites = Favourites(owner);
            if (favourite ? favourites.Add(file) : favourites.Remove(file)) SaveFavourites(owner, favourites);
            return Entry(new FileInfo(path), favourite);
        }
    }

    /// <summary>
    /// An image was kept for <paramref name="owner"/>: cuts their history to the per-history limits, then the whole output
    /// folder to the total (<see cref="HistoryRetention"/>). Returns the files deleted.
    /// </summary>
    public IReadOnlyList<string> Added(HistoryOwner owner)
    {
        var retention = options.History;
        var deleted = new List<string>();
        lock (_lock)
        {
            var favourites = Favourites(owner);
            var mine = Files(owner).Select(f => new KeptFile(f.FullName, f.Name, f.Length, favourites.Contains(f.Name))).ToList();
            deleted.AddRange(Evict(HistoryRetention.Evictions(mine, retention.MaxImagesPerHistory, retention.MaxBytesPerHistory)));
            if (retention.MaxBytesTotal > 0)
            {
                var all = Owners().SelectMany(o =>
                {
                    var fav = Favourites(o);
                    return Files(o).Select(f => new KeptFile(f.FullName, f.Name, f.Length, fav.Contains(f.Name)));
                }).ToList();
                deleted.AddRange(Evict(HistoryRetention.Evictions(all, 0, retention.MaxBytesTotal)));
            }
        }
        return deleted;
    }

    private IEnumerable<string> Evict(IReadOnlyList<KeptFile> files)
    {
        foreach (var file in files)
        {
            try
            {
                File.Delete(file.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            yield return file.Path;
        }
    }

    /// <summary>Every owner with a folder now, and the shared folder.</summary>
    private IEnumerable<HistoryOwner> Owners()
    {
        yield return HistoryOwner.Shared;
        if (!System.IO.Directory.Exists(Directory)) yield break;
        foreach (var dir in new DirectoryInfo(Directory).EnumerateDirectories().Where(d => HistoryOwner.IsOwnerFolder(d.Name)))
        {
            yield return HistoryOwner.FromFolder(dir.Name);
        }
    }

    private IEnumerable<FileInfo> Files(HistoryOwner owner)
    {
        string folder = FolderOf(owner);
        return System.IO.Directory.Exists(folder)
            ? new DirectoryInfo(folder).EnumerateFiles("*.png").Where(f => !f.Name.StartsWith('.'))
            : [];
    }

    private HistoryEntry? Entry(FileInfo file, bool favourite)
    {
        if (!_index.TryGetValue(file.FullName, out var known) || known.Modified != file.LastWriteTimeUtc || known.Bytes != file.Length)
        {
            if (Read(file) is not { } read) return null;
            _index[file.FullName] = known = (file.LastWriteTimeUtc, file.Length, read.Record, read.Infotext, read.Upscale);
        }
        return new HistoryEntry(file.Name, "/api/history/" + Uri.EscapeDataString(file.Name), new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero),
            file.Length, favourite, known.Record, known.Infotext, known.Upscale);
    }

    private static (GenerationRecord? Record, string? Infotext, UpscaleRecord? Upscale)? Read(FileInfo file)
    {
        try
        {
            var text = PngText.ReadTextChunks(File.ReadAllBytes(file.FullName));
            GenerationRecord? record = null;
            UpscaleRecord? upscale = null;
            if (text.TryGetValue(PngText.TurboGenKey, out string? json) && (upscale = UpscaleMetadata.Parse(json)) is null)
            {
                try { record = GenerationMetadata.ParseJson(json); } catch (JsonException) { }
            }
            return (record, text.GetValueOrDefault(PngText.ParametersKey), upscale);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageDecodeException)
        {
            return null;
        }
    }

    private HashSet<string> Favourites(HistoryOwner owner)
    {
        string path = Path.Combine(FolderOf(owner), FavouritesFile);
        try
        {
            return File.Exists(path) ? new HashSet<string>(JsonSerializer.Deserialize<string[]>(File.ReadAllBytes(path)) ?? [], StringComparer.Ordinal) : new(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return new(StringComparer.Ordinal);
        }
    }

    private void SaveFavourites(HistoryOwner owner, HashSet<string> favourites)
    {
        string folder = FolderOf(owner);
        System.IO.Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, FavouritesFile), temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(favourites.Order(StringComparer.Ordinal).ToArray()));
        File.Move(temp, path, overwrite: true);
    }
}

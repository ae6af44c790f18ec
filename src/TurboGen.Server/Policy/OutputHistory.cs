using System.Collections.Concurrent;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Policy;

/// <summary>One kept image in <see cref="ServerOptions.OutputDir"/>, as listed by <c>GET /api/history</c>.</summary>
public sealed record HistoryEntry(string File, string Url, DateTimeOffset CreatedAt, long Bytes, GenerationRecord? Parameters, string? Infotext);

/// <summary>
/// The kept images (written by <see cref="OutputWriter"/>): PNGs with their generation parameters (A1111
/// <c>parameters</c> + TurboGen JSON chunks) in <see cref="ServerOptions.OutputDir"/>, as <c>GET /api/history</c> lists
/// them. Listing reads each file's metadata once and remembers it by size and time.
/// </summary>
public sealed class OutputHistory(ServerOptions options)
{
    private readonly ConcurrentDictionary<string, (DateTime Modified, long Bytes, HistoryEntry Entry)> _index = new(StringComparer.Ordinal);

    public string Directory { get; } = Path.GetFullPath(options.OutputDir);

    /// <summary>The newest <paramref name="limit"/> PNGs, newest first.</summary>
    public IReadOnlyList<HistoryEntry> List(int limit)
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var files = new DirectoryInfo(Directory).EnumerateFiles("*.png")
            .Where(f => !f.Name.StartsWith('.'))
            .OrderByDescending(f => f.LastWriteTimeUtc).ThenByDescending(f => f.Name, StringComparer.Ordinal)
            .Take(limit);
        var entries = new List<HistoryEntry>();
        foreach (var file in files)
        {
            if (_index.TryGetValue(file.Name, out var known) && known.Modified == file.LastWriteTimeUtc && known.Bytes == file.Length)
            {
                entries.Add(known.Entry);
                continue;
            }
            var entry = Read(file);
            if (entry is null) continue;
            _index[file.Name] = (file.LastWriteTimeUtc, file.Length, entry);
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>The full path of a listed file, or null when the name is not a plain PNG name in the folder.</summary>
    public string? Resolve(string file)
    {
        if (file.Length is 0 or > 200 || file.StartsWith('.') || !file.EndsWith(".png", StringComparison.OrdinalIgnoreCase)
            || file.IndexOfAny(['/', '\\', '\0']) >= 0 || file.Contains("..", StringComparison.Ordinal)) return null;
        string path = Path.Combine(Directory, file);
        return File.Exists(path) ? path : null;
    }

    private static HistoryEntry? Read(FileInfo file)
    {
        try
        {
            var text = PngText.ReadTextChunks(File.ReadAllBytes(file.FullName));
            GenerationRecord? record = null;
            if (text.TryGetValue(PngText.TurboGenKey, out string? json))
            {
                try { record = GenerationMetadata.ParseJson(json); } catch (System.Text.Json.JsonException) { }
            }
            return new HistoryEntry(file.Name, "/api/history/" + Uri.EscapeDataString(file.Name), new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero),
                file.Length, record, text.GetValueOrDefault(PngText.ParametersKey));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ImageDecodeException)
        {
            return null;
        }
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace TurboGen.Models;

/// <summary>
/// The content identity of a checkpoint file: the lowercase hex SHA-256 of its bytes. When the path resolves (through the
/// snapshot symlink) into a Hugging Face cache <c>blobs/</c> folder under a 64-hex name, that name is returned without reading
/// the file: huggingface_hub names an LFS blob by its SHA-256 (and verifies it on download), so both ways give the same value.
/// Hashes computed by reading are memoised for the life of the process, keyed by (full path, length, last write time), so
/// opening the same multi-GB file again costs nothing; a changed file is hashed again.
/// </summary>
public static class CheckpointContentHash
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Modified), string> Memo = new();

    /// <summary>The SHA-256 (lowercase hex) of the file at <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">The file does not exist or cannot be read.</exception>
    public static string Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new ModelLoadException(path, $"Checkpoint file not found: {path}");
        }
        if (HubBlobName(file) is { } blob)
        {
            return blob;
        }
        var key = (file.FullName, file.Length, file.LastWriteTimeUtc);
        if (Memo.TryGetValue(key, out string? known))
        {
            return known;
        }
        string hash;
        try
        {
            using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (IOException e)
        {
            throw new ModelLoadException(path, $"Cannot read checkpoint {path} to hash it: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ModelLoadException(path, $"Cannot read checkpoint {path} to hash it: {e.Message}", e);
        }
        Memo[key] = hash;
        return hash;
    }

    /// <summary>The blob name when <paramref name="file"/> is, or links to, <c>…/blobs/&lt;64 hex&gt;</c>; otherwise null.</summary>
    private static string? HubBlobName(FileInfo file)
    {
        FileSystemInfo target = file;
        try
        {
            target = File.ResolveLinkTarget(file.FullName, returnFinalTarget: true) ?? file;
        }
        catch (IOException)
        {
            // A broken or looping link: fall back to hashing (which then reports the read error).
        }
        string name = target.Name;
        string? parent = Path.GetFileName(Path.GetDirectoryName(target.FullName));
        return parent == "blobs" && name.Length == 64 && name.All(char.IsAsciiHexDigitLower) ? name : null;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TurboGen.Storage;

/// <summary>
/// The content identity of a (weights) file, used to key built models: the lowercase hex SHA-256 of its bytes.
/// <para>
/// Rule: when the file is a symlink whose final target is a Hugging Face cache blob (<c>…/blobs/&lt;64 hex&gt;</c>), the
/// blob's name is used as is: huggingface_hub (and TurboGen's Hub client) name LFS blobs by the SHA-256 of their content,
/// so nothing needs reading. Otherwise the file is hashed once and the result memoised in a small JSON sidecar under
/// <see cref="TurboGenCache.HashesDir"/> keyed by the file's full path, size and last-write time; a later call with the
/// same three values reuses it (a second start is fast), any change re-hashes. If the sidecar cannot be written the hash
/// is still returned.
/// </para>
/// </summary>
public static partial class FileContentId
{
    /// <summary>The SHA-256 (lowercase hex) of <paramref name="path"/>'s content, by the rule in the class remarks.</summary>
    public static string Of(string path, string? cacheRoot = null)
    {
        var file = new FileInfo(Path.GetFullPath(path));
        if (!file.Exists)
        {
            throw new ModelLoadException(file.FullName, $"File not found: {file.FullName}");
        }
        return HubBlobSha256(file.FullName) ?? MemoisedSha256(file.FullName, TurboGenCache.HashesDir(cacheRoot));
    }

    /// <summary>The blob name when <paramref name="path"/> is a symlink into a Hugging Face cache's <c>blobs/</c> folder named by a SHA-256; else null.</summary>
    public static string? HubBlobSha256(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null) return null;
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        if (target is not FileInfo { Exists: true } blob) return null;
        bool inBlobs = string.Equals(Path.GetFileName(Path.GetDirectoryName(blob.FullName)), "blobs", StringComparison.Ordinal);
        return inBlobs && Sha256Name().IsMatch(blob.Name) ? blob.Name.ToLowerInvariant() : null;
    }

    /// <summary>SHA-256 of the file's bytes, reusing the sidecar in <paramref name="hashesDir"/> when path, size and mtime match.</summary>
    public static string MemoisedSha256(string path, string hashesDir)
    {
        // Hash what the path finally points at (a plain file or a symlink to one).
        var target = new FileInfo(path);
        if (target.LinkTarget is not null && target.ResolveLinkTarget(returnFinalTarget: true) is FileInfo resolved)
        {
            target = resolved;
        }
        long size = target.Length;
        long mtime = target.LastWriteTimeUtc.Ticks;
        string sidecar = Path.Combine(hashesDir, Hex(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(path)))[..32] + ".json");

        if (ReadSidecar(sidecar) is { } memo && memo.Path == path && memo.Size == size && memo.MtimeTicks == mtime && Sha256Name().IsMatch(memo.Sha256))
        {
            return memo.Sha256;
        }
        string hash = HashFile(target.FullName);
        WriteSidecar(sidecar, new Memo(path, size, mtime, hash));
        return hash;
    }

    /// <summary>SHA-256 of a file's bytes (streamed), lowercase hex.</summary>
    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Hex(SHA256.HashData(stream));
    }

    /// <summary>SHA-256 of UTF-8 text, lowercase hex.</summary>
    public static string HashText(string text) => Hex(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private sealed record Memo(string Path, long Size, long MtimeTicks, string Sha256);

    private static Memo? ReadSidecar(string sidecar)
    {
        try
        {
            return File.Exists(sidecar) ? JsonSerializer.Deserialize<Memo>(File.ReadAllText(sidecar)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static void WriteSidecar(string sidecar, Memo memo)
    {
        string temp = sidecar + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(sidecar)!);
            File.WriteAllText(temp, JsonSerializer.Serialize(memo));
            File.Move(temp, sidecar, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
        }
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Name();
}

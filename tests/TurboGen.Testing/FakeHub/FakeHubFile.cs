using System.Security.Cryptography;
using System.Text;

namespace TurboGen.Testing.FakeHub;

/// <summary>
/// One file of a fake Hub repository with the identifiers the real Hub derives from it: the git blob SHA-1 (of the content, or of the
/// LFS pointer file for LFS files) and, for LFS files, the content SHA-256.
/// </summary>
public sealed class FakeHubFile
{
    private readonly Func<Stream> _open;

    private FakeHubFile(string path, long length, bool isLfs, Func<Stream> open, string sha256, string contentGitSha1)
    {
        Path = path;
        Length = length;
        IsLfs = isLfs;
        _open = open;
        Sha256 = sha256;
        ContentGitSha1 = contentGitSha1;
        LfsPointer = $"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {length}\n";
        PointerGitSha1 = GitBlobSha1(Encoding.ASCII.GetBytes(LfsPointer));
    }

    /// <summary>Repository path with '/' separators, e.g. "unet/model.onnx".</summary>
    public string Path { get; }

    public long Length { get; }

    public bool IsLfs { get; }

    /// <summary>SHA-256 of the content (the LFS oid; huggingface_hub's blob name for LFS files).</summary>
    public string Sha256 { get; }

    /// <summary>git blob SHA-1 of the content (huggingface_hub's blob name for regular files).</summary>
    public string ContentGitSha1 { get; }

    /// <summary>The git-lfs pointer text stored in git for an LFS file.</summary>
    public string LfsPointer { get; }

    /// <summary>git blob SHA-1 of the LFS pointer (the ETag of the 302 response; "blobId" in the API).</summary>
    public string PointerGitSha1 { get; }

    /// <summary>The git object id the Hub lists for this file: the pointer's for LFS files, the content's otherwise.</summary>
    public string GitOid => IsLfs ? PointerGitSha1 : ContentGitSha1;

    /// <summary>The ETag huggingface_hub stores the blob under: SHA-256 for LFS, git SHA-1 otherwise.</summary>
    public string CacheEtag => IsLfs ? Sha256 : ContentGitSha1;

    public Stream Open() => _open();

    public static FakeHubFile FromBytes(string path, byte[] content, bool isLfs = false) =>
        new(Normalize(path), content.Length, isLfs, () => new MemoryStream(content, writable: false),
            Convert.ToHexStringLower(SHA256.HashData(content)), GitBlobSha1(content));

    public static FakeHubFile FromText(string path, string text, bool isLfs = false) => FromBytes(path, Encoding.UTF8.GetBytes(text), isLfs);

    /// <summary>A file served from disk (streamed, so large files are fine); hashes are computed once here.</summary>
    public static FakeHubFile FromDisk(string path, string fullPath, bool isLfs)
    {
        long length = new FileInfo(fullPath).Length;
        string sha256;
        string gitSha1;
        using (var stream = File.OpenRead(fullPath))
        {
            sha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        using (var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1))
        using (var stream = File.OpenRead(fullPath))
        {
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {length}\0"));
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                sha1.AppendData(buffer, 0, n);
            }
            gitSha1 = Convert.ToHexStringLower(sha1.GetHashAndReset());
        }
        return new FakeHubFile(Normalize(path), length, isLfs, () => File.OpenRead(fullPath), sha256, gitSha1);
    }

    /// <summary>git's object id of a blob: sha1("blob {size}\0" + content).</summary>
    public static string GitBlobSha1(byte[] content)
    {
        byte[] header = Encoding.ASCII.GetBytes($"blob {content.Length}\0");
        return Convert.ToHexStringLower(SHA1.HashData([.. header, .. content]));
    }

    private static string Normalize(string path) => path.Replace('\\', '/').TrimStart('/');
}

using System.Security.Cryptography;
using System.Text;

namespace TurboGen.Testing.FakeHub;

/// <summary>
/// A repository served by <see cref="FakeHubServer"/> at one commit (branch "main"). <see cref="Gated"/> repos list their files to
/// anyone but serve them only with "Authorization: Bearer {RequiredToken}" (401 without a token, 403 with a wrong one);
/// <see cref="Private"/> repos answer 401 RepoNotFound to everything without the token, like the real Hub.
/// </summary>
public sealed class FakeHubRepo
{
    public FakeHubRepo(string repoId, IEnumerable<FakeHubFile> files)
    {
        RepoId = repoId;
        Files = files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        if (Files.Select(f => f.Path).Distinct(StringComparer.Ordinal).Count() != Files.Count)
        {
            throw new ArgumentException("Duplicate file paths in fake repo " + repoId, nameof(files));
        }
        var listing = new StringBuilder(repoId).Append('\n');
        foreach (var file in Files)
        {
            listing.Append(file.Path).Append('\0').Append(file.GitOid).Append('\n');
        }
        Commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(listing.ToString())));
    }

    public string RepoId { get; }

    /// <summary>The 40-hex commit "main" points to (derived from the file list, so it changes when the content does).</summary>
    public string Commit { get; }

    public IReadOnlyList<FakeHubFile> Files { get; }

    public bool Gated { get; init; }

    public bool Private { get; init; }

    /// <summary>The token that unlocks a gated or private repo.</summary>
    public string? RequiredToken { get; init; }

    public FakeHubFile? Find(string path) => Files.FirstOrDefault(f => f.Path == path);

    /// <summary>
    /// A repo from a folder on disk (e.g. a tiny exported model). Files are LFS when <paramref name="isLfs"/> says so; by default
    /// weights-like extensions (.onnx, .onnx_data, .data, .safetensors, .bin, .ckpt, .pt, .pth, .msgpack, .h5, .pb) and anything ≥ 1 MiB.
    /// </summary>
    public static FakeHubRepo FromFolder(string repoId, string folder, Func<string, long, bool>? isLfs = null)
    {
        isLfs ??= DefaultIsLfs;
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(full =>
            {
                string relative = Path.GetRelativePath(folder, full).Replace(Path.DirectorySeparatorChar, '/');
                return FakeHubFile.FromDisk(relative, full, isLfs(relative, new FileInfo(full).Length));
            });
        return new FakeHubRepo(repoId, files);
    }

    public static bool DefaultIsLfs(string path, long length)
    {
        string[] lfsExtensions = [".onnx", ".onnx_data", ".data", ".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".msgpack", ".h5", ".pb"];
        return length >= 1 << 20 || lfsExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));
    }
}

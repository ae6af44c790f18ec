using System.Text.Json;

namespace TurboGen.Hub;

/// <summary>
/// The huggingface_hub cache layout of one model repository, byte-for-byte compatible with the Python tools:
/// <c>models--{org}--{name}/blobs/{etag}</c>, <c>snapshots/{commit}/{path}</c> as relative symlinks to <c>../../blobs/{etag}</c>,
/// <c>refs/{revision}</c> holding the commit hash (no newline), and the lock files <c>.locks/models--{org}--{name}/{etag}.lock</c>. TurboGen adds <c>.turbogen/files-{commit}.json</c> (the repo's file
/// list at that commit) which the Python tools ignore; it lets a later run decide "complete" without asking the Hub.
/// </summary>
internal sealed class HubCacheLayout(string cacheDir, string repoId)
{
    private readonly string _cacheDir = cacheDir;

    public string RepoId { get; } = repoId;

    public string RepoDir { get; } = Path.Combine(cacheDir, FolderName(repoId));

    public string BlobsDir => Path.Combine(RepoDir, "blobs");

    public static string FolderName(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);

    public static string? RepoIdFromFolder(string folderName) =>
        folderName.StartsWith("models--", StringComparison.Ordinal) ? folderName["models--".Length..].Replace("--", "/", StringComparison.Ordinal) : null;

    public string BlobPath(string etag) => Path.Combine(BlobsDir, etag);

    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    /// <summary>huggingface_hub's per-blob lock file, &lt;cache&gt;/.locks/models--org--name/{etag}.lock (an flock on Unix, as Python's filelock).</summary>
    public string LockPath(string etag) => Path.Combine(_cacheDir, ".locks", FolderName(RepoId), etag + ".lock");

    public string SnapshotDir(string commit) => Path.Combine(RepoDir, "snapshots", commit);

    public string PointerPath(string commit, string repoPath) => Path.Combine(SnapshotDir(commit), repoPath.Replace('/', Path.DirectorySeparatorChar));

    private string RefPath(string revision) => Path.Combine(RepoDir, "refs", revision.Replace('/', Path.DirectorySeparatorChar));

    private string ManifestPath(string commit) => Path.Combine(RepoDir, ".turbogen", $"files-{commit}.json");

    /// <summary>The commit a revision points to locally: the revision itself when it is a commit hash, else the content of refs/{revision}.</summary>
    public string? ResolveCommit(string revision)
    {
        if (HubModelId.IsCommitHash(revision))
        {
            return revision;
        }
        string refPath = RefPath(revision);
        if (!File.Exists(refPath))
        {
            return null;
        }
        string commit = File.ReadAllText(refPath).Trim();
        return HubModelId.IsCommitHash(commit) ? commit : null;
    }

    public void WriteRef(string revision, string commit)
    {
        if (revision != commit)
        {
            WriteAtomically(RefPath(revision), commit);
        }
    }

    /// <summary>True when the snapshot entry exists and, if it is a symlink, its blob exists too.</summary>
    public bool IsPresent(string commit, string repoPath) => IsUsableFile(PointerPath(commit, repoPath));

    public static bool IsUsableFile(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null)
        {
            return info.Exists;
        }
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target is { Exists: true } && target is FileInfo;
    }

    /// <summary>
    /// Makes snapshots/{commit}/{path} point at blobs/{etag} with a relative symlink (as huggingface_hub does), replacing any previous
    /// entry atomically. Where symlinks are not allowed (Windows without developer mode) the blob is copied instead.
    /// </summary>
    public void LinkSnapshotFile(string commit, string repoPath, string etag)
    {
        string pointer = PointerPath(commit, repoPath);
        string blob = BlobPath(etag);
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        string relative = Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob);
        string temp = pointer + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            File.CreateSymbolicLink(temp, relative);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blob, temp, overwrite: true);
        }
        File.Move(temp, pointer, overwrite: true);
    }

    /// <summary>
    /// Deletes blobs/*.incomplete files whose blob is complete (left by a download that another tool or process finished, e.g.
    /// huggingface_hub while TurboGen's partial file was there). Never touches a partial file whose blob is still missing (that one
    /// is resumed). Best effort.
    /// </summary>
    public void RemoveStaleIncompletes()
    {
        if (!Directory.Exists(BlobsDir))
        {
            return;
        }
        foreach (string incomplete in Directory.EnumerateFiles(BlobsDir, "*.incomplete"))
        {
            if (File.Exists(incomplete[..^".incomplete".Length]))
            {
                try
                {
                    File.Delete(incomplete);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }
    }

    public void WriteManifest(string commit, IReadOnlyList<HubRepoFile> files)
    {
        WriteAtomically(ManifestPath(commit), JsonSerializer.Serialize(files.ToArray()));
    }

    /// <summary>The file list saved by a previous TurboGen download of this commit, or null (none, or unreadable).</summary>
    public IReadOnlyList<HubRepoFile>? ReadManifest(string commit)
    {
        string path = ManifestPath(commit);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<HubRepoFile[]>(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Repository paths of the usable files in snapshots/{commit} (what a cache filled by the Python tools tells us).</summary>
    public IReadOnlyList<HubRepoFile> ListSnapshotFiles(string commit)
    {
        string dir = SnapshotDir(commit);
        if (!Directory.Exists(dir))
        {
            return [];
        }
        return Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(p => !Path.GetFileName(p).Contains(".tmp-", StringComparison.Ordinal) && IsUsableFile(p))
            .Select(p => new HubRepoFile(Path.GetRelativePath(dir, p).Replace(Path.DirectorySeparatorChar, '/')))
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .ToList();
    }

    private static void WriteAtomically(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
    }
}

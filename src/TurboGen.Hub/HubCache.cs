namespace TurboGen.Hub;

/// <summary>
/// Reads and prunes the local Hub cache (the huggingface_hub layout, shared with the Python tools): list cached models, remove one,
/// and resolve "org/name[@revision]" to its snapshot folder when the wanted files are all there.
/// </summary>
public sealed class HubCache(string cacheDir)
{
    /// <summary>The cache root (HF_HUB_CACHE): the folder that holds the models--{org}--{name} folders.</summary>
    public string CacheDir { get; } = cacheDir;

    /// <summary>Every models--*--* folder of the cache, sorted by repository id. Datasets and spaces are ignored.</summary>
    public IReadOnlyList<HubCachedModel> ListModels()
    {
        if (!Directory.Exists(CacheDir))
        {
            return [];
        }
        var models = new List<HubCachedModel>();
        foreach (string dir in Directory.EnumerateDirectories(CacheDir))
        {
            string? repoId = HubCacheLayout.RepoIdFromFolder(Path.GetFileName(dir));
            if (repoId is not null)
            {
                models.Add(Describe(repoId, dir));
            }
        }
        return models.OrderBy(m => m.RepoId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Deletes the model's whole cache folder (blobs, snapshots, refs) and its lock files. Returns false when it was not cached.</summary>
    public bool RemoveModel(string repoId)
    {
        HubModelId.ValidateRepoId(repoId);
        var layout = new HubCacheLayout(CacheDir, repoId);
        if (!Directory.Exists(layout.RepoDir))
        {
            return false;
        }
        Directory.Delete(layout.RepoDir, recursive: true);
        string locks = Path.Combine(CacheDir, ".locks", HubCacheLayout.FolderName(repoId));
        if (Directory.Exists(locks))
        {
            Directory.Delete(locks, recursive: true);
        }
        return true;
    }

    /// <summary>
    /// The local snapshot folder for "org/name[@revision]" when it is complete, else null; never touches the network.
    /// The commit comes from the revision itself (a commit hash) or refs/{revision}. With <paramref name="select"/>: complete means
    /// the file list saved by TurboGen for that commit exists and every selected file is present (a non-empty selection). Without it:
    /// the snapshot has at least one file and no broken symlink.
    /// </summary>
    public string? TryGetSnapshot(string modelId, Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>>? select = null)
    {
        var (repoId, revision) = HubModelId.Parse(modelId);
        return TryGetCompleteSnapshot(new HubCacheLayout(CacheDir, repoId), revision, select);
    }

    /// <summary>
    /// True when the content of <paramref name="file"/> (as listed by the Hub, with its blob id) is already in the cache, in any snapshot:
    /// a download would not transfer it. False when the listing gives no blob id (a list read from disk).
    /// </summary>
    public bool HasBlob(string repoId, HubRepoFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        HubModelId.ValidateRepoId(repoId);
        return file.ExpectedEtag is { } etag && File.Exists(new HubCacheLayout(CacheDir, repoId).BlobPath(etag));
    }

    internal static string? TryGetCompleteSnapshot(HubCacheLayout layout, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>>? select)
    {
        string? commit = layout.ResolveCommit(revision);
        if (commit is null || !Directory.Exists(layout.SnapshotDir(commit)))
        {
            return null;
        }
        if (select is null)
        {
            string dir = layout.SnapshotDir(commit);
            var all = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToList();
            return all.Count > 0 && all.All(HubCacheLayout.IsUsableFile) ? dir : null;
        }
        var manifest = layout.ReadManifest(commit);
        if (manifest is null)
        {
            return null;
        }
        var wanted = select(manifest);
        return wanted.Count > 0 && wanted.All(f => layout.IsPresent(commit, f.Path)) ? layout.SnapshotDir(commit) : null;
    }

    /// <summary>
    /// The offline fallback (HF_HUB_OFFLINE or no network): a complete snapshot if there is one, else — for a cache filled by other
    /// tools, which has no saved file list — the snapshot when the selector picks at least one file from what is on disk.
    /// </summary>
    internal static string? TryGetOfflineSnapshot(HubCacheLayout layout, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select)
    {
        string? complete = TryGetCompleteSnapshot(layout, revision, select);
        if (complete is not null)
        {
            return complete;
        }
        string? commit = layout.ResolveCommit(revision);
        if (commit is null || layout.ReadManifest(commit) is not null)
        {
            return null; // with a saved list, "incomplete" is known for sure
        }
        return select(layout.ListSnapshotFiles(commit)).Count > 0 ? layout.SnapshotDir(commit) : null;
    }

    private static HubCachedModel Describe(string repoId, string dir)
    {
        var refs = new Dictionary<string, string>(StringComparer.Ordinal);
        string refsDir = Path.Combine(dir, "refs");
        if (Directory.Exists(refsDir))
        {
            foreach (string refFile in Directory.EnumerateFiles(refsDir, "*", SearchOption.AllDirectories))
            {
                refs[Path.GetRelativePath(refsDir, refFile).Replace(Path.DirectorySeparatorChar, '/')] = File.ReadAllText(refFile).Trim();
            }
        }

        var snapshots = new List<HubCachedSnapshot>();
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        string snapshotsDir = Path.Combine(dir, "snapshots");
        if (Directory.Exists(snapshotsDir))
        {
            foreach (string snapshot in Directory.EnumerateDirectories(snapshotsDir).Order(StringComparer.Ordinal))
            {
                int count = 0;
                foreach (string file in Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories))
                {
                    var info = new FileInfo(file);
                    var target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
                    if (target is { Exists: true })
                    {
                        count++;
                        blobs[target.FullName] = target.Length;
                    }
                }
                string commit = Path.GetFileName(snapshot);
                snapshots.Add(new HubCachedSnapshot(commit, snapshot, count,
                    refs.Where(r => r.Value == commit).Select(r => r.Key).Order(StringComparer.Ordinal).ToList()));
            }
        }

        long incomplete = 0;
        string blobsDir = Path.Combine(dir, "blobs");
        if (Directory.Exists(blobsDir))
        {
            // A partial file whose blob is complete is stale (removed by the next download), not a partial download.
            incomplete = Directory.EnumerateFiles(blobsDir, "*.incomplete")
                .Where(p => !File.Exists(p[..^".incomplete".Length]))
                .Sum(p => new FileInfo(p).Length);
        }
        return new HubCachedModel(repoId, dir, refs, snapshots, blobs.Values.Sum(), incomplete);
    }
}

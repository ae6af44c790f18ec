using System.Net;
using System.Text.Json;

namespace TurboGen.Hub;

/// <summary>
/// Downloads model files from the Hugging Face Hub into the huggingface_hub cache (shared with the Python tools).
/// <para>
/// How it works: <see cref="DownloadAsync"/> first looks at the cache. If the revision resolves locally to a commit (it is a
/// 40-hex commit hash, or refs/{revision} exists) and the repo's file list saved for that commit by an earlier TurboGen download
/// is there, the selector runs on that list; if every selected file is present in snapshots/{commit}, the snapshot folder is returned
/// with NO request at all ("offline-first if complete"; huggingface_hub would still HEAD each file — set
/// <see cref="HubOptions.CheckForUpdates"/> to re-resolve branch names online). Otherwise one API call
/// (<c>/api/models/{repo}/revision/{rev}?blobs=true</c>) gives the commit and file list; the list is saved, refs/{revision} written,
/// and each selected file missing from the snapshot is fetched: HEAD resolve/{commit}/{path} without following the CDN redirect
/// (X-Repo-Commit, X-Linked-Etag or ETag, X-Linked-Size, Location), then — unless blobs/{etag} already exists — GET into
/// blobs/{etag}.incomplete with Range resume, SHA-256 / git-SHA-1 verification and an atomic rename, and finally a relative symlink
/// snapshots/{commit}/{path} → ../../blobs/{etag}. Files sharing a blob are fetched once; at most
/// <see cref="HubOptions.MaxParallelDownloads"/> files transfer at once. The token goes only to the endpoint's origin.
/// With HF_HUB_OFFLINE, or when the Hub cannot be reached, a cached snapshot is used (a cache written by the Python tools has no
/// saved list: then the snapshot is used if the selector picks anything from what is on disk), else a <see cref="HubException"/>
/// of kind <see cref="HubErrorKind.Offline"/> is thrown.
/// </para>
/// </summary>
public sealed class HubClient : IDisposable
{
    private readonly HttpClient _httpClient;
    private readonly bool _ownsHttpClient;
    private readonly HubHttp _http;

    /// <summary>Checks the options and creates the client; nothing is sent until a method is called.</summary>
    /// <param name="options">Endpoint, token, cache folder, offline flag and download parallelism; a bad endpoint URL, a
    /// <see cref="HubOptions.MaxParallelDownloads"/> below 1 or an empty cache folder throws <see cref="InvalidRequestException"/>
    /// naming HF_ENDPOINT, MaxParallelDownloads or HF_HUB_CACHE.</param>
    /// <param name="http">Optional client; it must not follow redirects automatically (HEAD must see the 302 and its headers).</param>
    public HubClient(HubOptions options, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new InvalidRequestException("HF_ENDPOINT", $"'{options.Endpoint}' is not an http(s) URL (HF_ENDPOINT, default {HubOptions.DefaultEndpoint}).");
        }
        if (options.MaxParallelDownloads < 1)
        {
            throw new InvalidRequestException("MaxParallelDownloads", $"MaxParallelDownloads must be at least 1 (got {options.MaxParallelDownloads}).");
        }
        if (string.IsNullOrWhiteSpace(options.CacheDir))
        {
            throw new InvalidRequestException("HF_HUB_CACHE", "The Hub cache folder is empty (HF_HUB_CACHE / HF_HOME).");
        }
        Options = options;
        _ownsHttpClient = http is null;
        _httpClient = http ?? new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _http = new HubHttp(options, _httpClient);
    }

    /// <summary>The options the client was created with.</summary>
    public HubOptions Options { get; }

    /// <summary>The cache this client writes to.</summary>
    public HubCache Cache => new(Options.CacheDir);

    /// <summary>Free bytes on the drive holding a folder; replaceable by tests.</summary>
    internal Func<string, long> FreeBytes { get; set; } = dir => new DriveInfo(Path.GetFullPath(dir)).AvailableFreeSpace;

    /// <summary>The commit a revision points to and the repository's files with sizes and blob ids (one API request).</summary>
    public async Task<HubRepoInfo> GetRepoInfoAsync(string repoId, string revision = HubModelId.DefaultRevision, CancellationToken ct = default)
    {
        Validate(repoId, revision);
        if (Options.Offline)
        {
            throw new HubException(HubErrorKind.Offline, repoId, $"HF_HUB_OFFLINE is set: cannot ask {_http.Endpoint} about {repoId}.");
        }
        try
        {
            using var response = await _http.SendAsync(HttpMethod.Get, _http.RevisionApiUrl(repoId, revision), 0, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw _http.Error(response, repoId, revision, null);
            }
            using var bodyTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bodyTimeout.CancelAfter(HubHttp.RequestTimeout);
            string json = await response.Content.ReadAsStringAsync(bodyTimeout.Token).ConfigureAwait(false);
            return ParseRepoInfo(repoId, revision, json);
        }
        catch (Exception e) when (HubBlobDownloader.IsTransient(e, ct) || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new HubException(HubErrorKind.Offline, repoId, $"Cannot reach {_http.Endpoint} ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Downloads the files <paramref name="select"/> picks from the repository (see <see cref="HubFileSelector"/>) and returns the
    /// local snapshot folder (snapshots/{commit}), laid out like the repository.
    /// </summary>
    public Task<string> DownloadAsync(string repoId, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select,
        IProgress<HubDownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(select);
        return DownloadCoreAsync(repoId, revision, select, progress,
            $"{repoId}@{revision} has none of the requested files (for example no ONNX export in this revision).", ct);
    }

    /// <summary>Downloads one file and returns its local path inside the snapshot folder.</summary>
    public async Task<string> DownloadFileAsync(string repoId, string revision, string path,
        IProgress<HubDownloadProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string normalized = path.Replace('\\', '/').TrimStart('/');
        string snapshot = await DownloadCoreAsync(repoId, revision, HubFileSelector.SingleFile(normalized), progress,
            $"File '{normalized}' not found in {repoId} at revision '{revision}'.", ct).ConfigureAwait(false);
        return Path.Combine(snapshot, normalized.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>Disposes the HTTP client if this client created it (a client passed to the constructor is left open).</summary>
    public void Dispose()
    {
        if (_ownsHttpClient)
        {
            _httpClient.Dispose();
        }
    }

    private async Task<string> DownloadCoreAsync(string repoId, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select, IProgress<HubDownloadProgress>? progress,
        string nothingSelectedMessage, CancellationToken ct)
    {
        Validate(repoId, revision);
        var layout = new HubCacheLayout(Options.CacheDir, repoId);
        layout.RemoveStaleIncompletes();
        if (Options.Offline)
        {
            return HubCache.TryGetOfflineSnapshot(layout, revision, select) ?? throw new HubException(HubErrorKind.Offline, repoId,
                $"HF_HUB_OFFLINE is set and {repoId}@{revision} is not (completely) in the cache at {Options.CacheDir}: run once without HF_HUB_OFFLINE to download it.");
        }
        if (!Options.CheckForUpdates || HubModelId.IsCommitHash(revision))
        {
            string? cached = HubCache.TryGetCompleteSnapshot(layout, revision, select);
            if (cached is not null)
            {
                return cached;
            }
        }

        HubRepoInfo info;
        try
        {
            info = await GetRepoInfoAsync(repoId, revision, ct).ConfigureAwait(false);
        }
        catch (HubException e) when (e.Kind == HubErrorKind.Offline)
        {
            return HubCache.TryGetOfflineSnapshot(layout, revision, select) ?? throw new HubException(HubErrorKind.Offline, repoId,
                $"{e.Message} {repoId}@{revision} is not in the cache at {Options.CacheDir}; connect to the internet (or set HF_ENDPOINT to a reachable mirror) and try again.", e);
        }

        var wanted = select(info.Files);
        if (wanted.Count == 0)
        {
            throw new HubException(HubErrorKind.NotFound, repoId, nothingSelectedMessage);
        }
        string commit = info.Commit;
        layout.WriteManifest(commit, info.Files);
        // The snapshot folder exists before refs/{revision} points at it (as huggingface_hub does): a pull that fails before any
        // file completes must not leave a ref to a missing snapshot, which Python's scan_cache_dir() reports as a corrupted repo.
        Directory.CreateDirectory(layout.SnapshotDir(commit));
        layout.WriteRef(revision, commit);

        var missing = wanted.Where(f => !layout.IsPresent(commit, f.Path)).ToList();
        await FetchAsync(layout, commit, missing, progress, ct).ConfigureAwait(false);
        return layout.SnapshotDir(commit);
    }

    private async Task FetchAsync(HubCacheLayout layout, string commit, List<HubRepoFile> files,
        IProgress<HubDownloadProgress>? progress, CancellationToken ct)
    {
        if (files.Count == 0)
        {
            return;
        }
        // Files with identical content share one blob: fetch it once, then link every path to it.
        var groups = files.GroupBy(f => f.ExpectedEtag ?? "path:" + f.Path).Select(g => g.ToList()).ToList();
        var toTransfer = groups.Where(g => g[0].ExpectedEtag is not { } etag || !File.Exists(layout.BlobPath(etag))).ToList();
        long totalSize = toTransfer.Sum(g => Math.Max(0, g[0].Size ?? 0));
        long needed = toTransfer.Sum(g => Math.Max(0, (g[0].Size ?? 0) - PartialLength(layout, g[0])));
        var downloader = new HubBlobDownloader(_http, FreeBytes);
        // Announce what is about to be fetched (no bytes yet) before the free-space check and the first request.
        progress?.Report(new HubDownloadProgress("", 0, -1, 0, totalSize, 0, files.Count));
        downloader.EnsureSpace(layout.RepoId, layout.BlobsDir, needed, $"{layout.RepoId} ({toTransfer.Count} files)");

        long totalBytes = 0;
        int filesCompleted = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Options.MaxParallelDownloads, CancellationToken = ct };
        await Parallel.ForEachAsync(groups, parallel, async (group, token) =>
        {
            string path = group[0].Path;
            long fileBytes = 0;
            try
            {
                var meta = await _http.HeadAsync(layout.RepoId, commit, path, token).ConfigureAwait(false);
                await downloader.DownloadAsync(layout, commit, path, meta, bytes =>
                {
                    long total = Interlocked.Add(ref totalBytes, bytes - fileBytes);
                    fileBytes = bytes;
                    progress?.Report(new HubDownloadProgress(path, bytes, meta.Size, total, totalSize, Volatile.Read(ref filesCompleted), files.Count));
                }, token).ConfigureAwait(false);
                foreach (var file in group)
                {
                    layout.LinkSnapshotFile(commit, file.Path, meta.Etag);
                }
            }
            catch (Exception e) when (HubBlobDownloader.IsTransient(e, token))
            {
                throw new HubException(HubErrorKind.Network, layout.RepoId,
                    $"Downloading {layout.RepoId}/{path} from {_http.Endpoint} failed ({e.Message}) after {HubBlobDownloader.MaxNetworkRetries} retries; run again to resume.", e);
            }
            int done = Interlocked.Add(ref filesCompleted, group.Count);
            progress?.Report(new HubDownloadProgress(path, fileBytes, group[0].Size ?? -1, Interlocked.Read(ref totalBytes), totalSize, done, files.Count));
        }).ConfigureAwait(false);
    }

    private static long PartialLength(HubCacheLayout layout, HubRepoFile file) =>
        file.ExpectedEtag is { } etag && new FileInfo(layout.IncompletePath(etag)) is { Exists: true } info ? info.Length : 0;

    private static void Validate(string repoId, string revision)
    {
        ArgumentNullException.ThrowIfNull(repoId);
        ArgumentNullException.ThrowIfNull(revision);
        HubModelId.ValidateRepoId(repoId);
        HubModelId.ValidateRevision(revision);
    }

    private static HubRepoInfo ParseRepoInfo(string repoId, string revision, string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            string commit = root.GetProperty("sha").GetString() ?? "";
            if (!HubModelId.IsCommitHash(commit))
            {
                throw new HubException(HubErrorKind.Protocol, repoId, $"The Hub returned an invalid commit '{commit}' for {repoId}@{revision}.");
            }
            var files = new List<HubRepoFile>();
            if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var sibling in siblings.EnumerateArray())
                {
                    string path = sibling.GetProperty("rfilename").GetString() ?? "";
                    if (!IsSafeRepoPath(path))
                    {
                        throw new HubException(HubErrorKind.Protocol, repoId, $"The Hub listed an unsafe file name '{path}' in {repoId}.");
                    }
                    long? size = sibling.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null;
                    string? blobId = sibling.TryGetProperty("blobId", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
                    string? sha256 = sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object
                        && lfs.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
                    files.Add(new HubRepoFile(path, size, blobId, sha256));
                }
            }
            bool gated = root.TryGetProperty("gated", out var g) && g.ValueKind is JsonValueKind.String or JsonValueKind.True;
            return new HubRepoInfo(repoId, revision, commit, files) { Gated = gated };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new HubException(HubErrorKind.Protocol, repoId, $"The Hub's answer about {repoId}@{revision} is not the expected JSON ({e.Message}).", e);
        }
    }

    /// <summary>Repository paths become local paths: refuse absolute paths and '..' segments.</summary>
    private static bool IsSafeRepoPath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\')
        && path.Split('/').All(segment => segment.Length > 0 && segment != "." && segment != "..");
}

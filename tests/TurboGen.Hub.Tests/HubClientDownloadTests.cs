using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

public sealed class HubClientDownloadTests : FakeHubTestBase
{
    [Fact]
    public async Task Fresh_download_builds_the_exact_huggingface_hub_cache_tree()
    {
        using var client = NewClient();
        string snapshot = await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);

        Assert.Equal(Path.Combine(RepoDir, "snapshots", Repo.Commit), snapshot);
        Assert.Equal(Repo.Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));

        // blobs: one per distinct content (the two identical vocab.json share one), named by SHA-256 (LFS) or git SHA-1.
        var expectedBlobs = OnnxFiles.Select(p => Repo.Find(p)!.CacheEtag).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(6, expectedBlobs.Length);
        Assert.Equal(expectedBlobs, BlobNames());
        Assert.Contains(Weights.Sha256, BlobNames());

        var snapshotFiles = Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(snapshot, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(OnnxFiles.Order(StringComparer.Ordinal).ToArray(), snapshotFiles);
        foreach (string path in OnnxFiles)
        {
            var file = Repo.Find(path)!;
            var info = new FileInfo(Path.Combine(snapshot, path));
            string up = string.Concat(Enumerable.Repeat("../", path.Count(c => c == '/') + 2));
            Assert.Equal(up + "blobs/" + file.CacheEtag, info.LinkTarget);
            using var expected = file.Open();
            Assert.Equal(ReadAll(expected), File.ReadAllBytes(info.FullName));
        }
        Assert.Equal(Weights.Sha256, Sha256Of(Path.Combine(snapshot, WeightsPath)));

        var requests = Server.Requests;
        Assert.Single(requests, r => r.PathAndQuery.StartsWith("/api/models/tiny/turbo/revision/main", StringComparison.Ordinal));
        Assert.All(requests.Where(r => r.Method == "HEAD"), r => Assert.Contains($"/resolve/{Repo.Commit}/", r.PathAndQuery));
        Assert.Equal(6, requests.Count(r => r.Method == "HEAD")); // 7 files, the two vocab.json share one blob
        Assert.Equal(2, requests.Count(r => r.Method == "GET" && r.IsCdn)); // model.onnx + weights came from the CDN redirect
        Assert.DoesNotContain(requests, r => r.PathAndQuery.Contains("diffusion_pytorch_model.bin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Second_run_is_served_from_the_cache_without_any_request()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        Server.ResetRequests();

        using var again = NewClient();
        string snapshot = await again.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        string byCommit = await again.DownloadAsync(RepoId, Repo.Commit, HubFileSelector.Onnx);
        string file = await again.DownloadFileAsync(RepoId, "main", "unet/config.json");

        Assert.Empty(Server.Requests);
        Assert.Equal(snapshot, byCommit);
        Assert.Equal(Path.Combine(snapshot, "unet", "config.json"), file);
    }

    [Fact]
    public async Task A_cache_without_TurboGen_file_list_costs_one_api_call_and_no_file_request()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        Directory.Delete(Path.Combine(RepoDir, ".turbogen"), recursive: true); // what a cache filled by the Python tools looks like
        Server.ResetRequests();

        using var again = NewClient();
        await again.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        var request = Assert.Single(Server.Requests);
        Assert.Equal("/api/models/tiny/turbo/revision/main?blobs=true", request.PathAndQuery);
    }

    [Fact]
    public async Task A_transfer_cut_mid_file_is_resumed_with_a_range_request()
    {
        Server.CutTransfer(WeightsPath, afterBytes: 1_000_000);
        using var client = NewClient();
        string snapshot = await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);

        var weightGets = Server.Requests.Where(r => r.Method == "GET" && r.PathAndQuery == $"/cdn/{Weights.Sha256}").ToList();
        Assert.True(weightGets.Count == 2, string.Join("\n", Server.Requests));
        Assert.Null(weightGets[0].Range);
        // Resumed where the file stopped: at the cut, or a little before if the reset swallowed the last bytes in flight.
        Assert.Matches("^bytes=[0-9]+-$", weightGets[1].Range);
        Assert.InRange(long.Parse(weightGets[1].Range!["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture), 900_000, 1_000_000);
        Assert.Equal(Weights.Sha256, Sha256Of(Path.Combine(snapshot, WeightsPath)));
        Assert.DoesNotContain(BlobNames(), n => n.EndsWith(".incomplete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancellation_leaves_no_half_written_blob_and_the_next_run_resumes()
    {
        Server.ChunkDelay = TimeSpan.FromMilliseconds(15);
        using var cts = new CancellationTokenSource();
        var progress = new InlineProgress(p =>
        {
            if (p.Path == WeightsPath && p.FileBytes > 0)
            {
                cts.Cancel();
            }
        });
        using (var client = NewClient(parallel: 1))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                client.DownloadAsync(RepoId, "main", HubFileSelector.SingleFile(WeightsPath), progress, cts.Token));
        }

        string blob = Path.Combine(RepoDir, "blobs", Weights.Sha256);
        Assert.False(File.Exists(blob));
        Assert.False(File.Exists(Path.Combine(RepoDir, "snapshots", Repo.Commit, "unet", "model.onnx_data")));
        long partial = new FileInfo(blob + ".incomplete").Length;
        Assert.InRange(partial, 1, WeightsSize - 1);

        Server.ChunkDelay = TimeSpan.Zero;
        Server.ResetRequests();
        using var again = NewClient();
        string path = await again.DownloadFileAsync(RepoId, "main", WeightsPath);
        Assert.Equal(Weights.Sha256, Sha256Of(path));
        var get = Assert.Single(Server.Requests, r => r.Method == "GET" && r.IsCdn);
        Assert.Equal($"bytes={partial}-", get.Range);
        Assert.False(File.Exists(blob + ".incomplete"));
    }

    [Fact]
    public async Task A_corrupted_transfer_is_detected_and_downloaded_again()
    {
        Server.CorruptTransfer(WeightsPath);
        Server.CorruptTransfer("unet/config.json"); // a regular (non-LFS) file: checked against its git blob SHA-1
        using var client = NewClient();
        string snapshot = await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);

        Assert.Equal(2, Server.Requests.Count(r => r.Method == "GET" && r.PathAndQuery == $"/cdn/{Weights.Sha256}"));
        Assert.Equal(2, Server.Requests.Count(r => r.Method == "GET" && r.PathAndQuery.EndsWith("/unet/config.json", StringComparison.Ordinal)));
        Assert.Equal(Weights.Sha256, Sha256Of(Path.Combine(snapshot, WeightsPath)));
        Assert.Equal("{\"sample_size\": 64}", File.ReadAllText(Path.Combine(snapshot, "unet", "config.json")));
    }

    [Fact]
    public async Task A_blob_corrupted_twice_fails_with_a_checksum_error_and_keeps_nothing()
    {
        Server.CorruptTransfer(WeightsPath, times: 2);
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "main", WeightsPath));

        Assert.Equal(HubErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains(Weights.Sha256, e.Message);
        Assert.DoesNotContain(Weights.Sha256, BlobNames());
        Assert.DoesNotContain(Weights.Sha256 + ".incomplete", BlobNames());
    }

    [Fact]
    public async Task A_blob_locked_by_another_process_is_waited_for()
    {
        // huggingface_hub's lock file for this blob, held as Python's filelock would hold it.
        string lockPath = Path.Combine(CacheDir, ".locks", "models--tiny--turbo", Weights.Sha256 + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

        using var client = NewClient();
        var download = client.DownloadFileAsync(RepoId, "main", WeightsPath);
        await Task.Delay(700);
        Assert.False(download.IsCompleted, download.Exception?.ToString());
        Assert.DoesNotContain(Server.Requests, r => r.IsCdn);

        await held.DisposeAsync();
        string path = await download.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Weights.Sha256, Sha256Of(path));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Parallel_downloads_are_limited(int limit)
    {
        var random = new Random(7);
        var files = Enumerable.Range(0, 8).Select(i =>
        {
            byte[] data = new byte[50_000];
            random.NextBytes(data);
            return Testing.FakeHub.FakeHubFile.FromBytes($"weights/part{i}.bin", data, isLfs: i % 2 == 0);
        }).ToArray();
        Server.AddRepo("tiny/many", files);
        Server.BodyDelay = TimeSpan.FromMilliseconds(150);

        using var client = NewClient(parallel: limit);
        string snapshot = await client.DownloadAsync("tiny/many", "main", list => list);

        Assert.Equal(8, Directory.GetFiles(Path.Combine(snapshot, "weights")).Length);
        Assert.Equal(limit, Server.MaxConcurrentBodies);
    }

    [Fact]
    public async Task Progress_reports_per_file_and_total_bytes()
    {
        var reports = new List<HubDownloadProgress>();
        var progress = new InlineProgress(p => { lock (reports) { reports.Add(p); } });
        using var client = NewClient();
        await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx, progress);

        long expectedTotal = OnnxFiles.Select(p => Repo.Find(p)!).DistinctBy(f => f.CacheEtag).Sum(f => f.Length);
        var last = reports.MaxBy(r => (r.FilesCompleted, r.TotalBytes));
        Assert.Equal(expectedTotal, last.TotalSize);
        Assert.Equal(expectedTotal, last.TotalBytes);
        Assert.Equal(OnnxFiles.Length, last.FilesCompleted);
        Assert.Equal(OnnxFiles.Length, last.FileCount);
        Assert.Contains(reports, r => r.Path == WeightsPath && r.FileBytes == WeightsSize && r.FileSize == WeightsSize);
        Assert.Contains(reports, r => r.Path == WeightsPath && r.FileBytes > 0 && r.FileBytes < WeightsSize);
    }

    [Fact]
    public async Task Not_enough_disk_space_fails_before_downloading()
    {
        using var client = NewClient();
        client.FreeBytes = _ => 1_000_000;
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));

        Assert.Equal(HubErrorKind.DiskFull, e.Kind);
        Assert.StartsWith("Disk full: need 3.", e.Message);
        Assert.Contains("have 1.00 MB free", e.Message);
        Assert.DoesNotContain(Server.Requests, r => r.Method == "GET" && r.IsCdn);
        Assert.Empty(BlobNames());
    }

    [Fact]
    public async Task The_first_report_announces_files_and_total_before_the_free_space_check()
    {
        var reports = new List<HubDownloadProgress>();
        using var client = NewClient();
        client.FreeBytes = _ => 1_000_000;
        await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx, new InlineProgress(reports.Add)));

        var announcement = Assert.Single(reports);
        Assert.Equal("", announcement.Path);
        Assert.Equal(OnnxFiles.Select(p => Repo.Find(p)!).DistinctBy(f => f.CacheEtag).Sum(f => f.Length), announcement.TotalSize);
        Assert.Equal(OnnxFiles.Length, announcement.FileCount);
        Assert.Equal((0L, 0), (announcement.TotalBytes, announcement.FilesCompleted));
    }

    [Fact]
    public async Task GetRepoInfo_lists_files_with_sizes_and_lfs_hashes()
    {
        using var client = NewClient();
        var info = await client.GetRepoInfoAsync(RepoId);

        Assert.Equal(Repo.Commit, info.Commit);
        Assert.Equal(Repo.Files.Select(f => f.Path), info.Files.Select(f => f.Path));
        var weights = info.Files.Single(f => f.Path == WeightsPath);
        Assert.Equal(WeightsSize, weights.Size);
        Assert.Equal(Weights.Sha256, weights.LfsSha256);
        Assert.Equal(Weights.PointerGitSha1, weights.BlobId);
        var config = info.Files.Single(f => f.Path == "unet/config.json");
        Assert.False(config.IsLfs);
        Assert.Equal(Repo.Find("unet/config.json")!.ContentGitSha1, config.ExpectedEtag);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>IProgress that runs synchronously on the reporting thread (Progress&lt;T&gt; would post asynchronously).</summary>
    private sealed class InlineProgress(Action<HubDownloadProgress> action) : IProgress<HubDownloadProgress>
    {
        public void Report(HubDownloadProgress value) => action(value);
    }
}

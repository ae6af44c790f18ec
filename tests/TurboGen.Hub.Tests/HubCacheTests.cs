using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

public sealed class HubCacheTests : FakeHubTestBase
{
    [Fact]
    public async Task Lists_resolves_and_removes_cached_models()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        var cache = new HubCache(CacheDir);
        Directory.CreateDirectory(Path.Combine(CacheDir, "datasets--someone--data")); // not a model: ignored

        var model = Assert.Single(cache.ListModels());
        Assert.Equal(RepoId, model.RepoId);
        Assert.Equal(RepoDir, model.Folder);
        Assert.Equal(Repo.Commit, model.Refs["main"]);
        var snapshot = Assert.Single(model.Snapshots);
        Assert.Equal(Repo.Commit, snapshot.Commit);
        Assert.Equal(OnnxFiles.Length, snapshot.FileCount);
        Assert.Equal(["main"], snapshot.Refs);
        long distinctBlobBytes = OnnxFiles.Select(p => Repo.Find(p)!).DistinctBy(f => f.CacheEtag).Sum(f => f.Length);
        Assert.Equal(distinctBlobBytes, model.SizeOnDisk); // the shared vocab.json blob counts once
        Assert.Equal(0, model.IncompleteBytes);

        string expected = Path.Combine(RepoDir, "snapshots", Repo.Commit);
        Assert.Equal(expected, cache.TryGetSnapshot(RepoId));
        Assert.Equal(expected, cache.TryGetSnapshot(RepoId, HubFileSelector.Onnx));
        Assert.Equal(expected, cache.TryGetSnapshot($"{RepoId}@{Repo.Commit}", HubFileSelector.Onnx));
        Assert.Null(cache.TryGetSnapshot(RepoId, HubFileSelector.SingleFile("unet/diffusion_pytorch_model.bin")));
        Assert.Null(cache.TryGetSnapshot(RepoId + "@v2"));
        Assert.Null(cache.TryGetSnapshot("tiny/absent"));

        Assert.True(cache.RemoveModel(RepoId));
        Assert.False(Directory.Exists(RepoDir));
        Assert.False(Directory.Exists(Path.Combine(CacheDir, ".locks", "models--tiny--turbo")));
        Assert.False(cache.RemoveModel(RepoId));
        Assert.Empty(cache.ListModels());
    }

    [Fact]
    public async Task HasBlob_tells_whether_a_listed_file_would_be_transferred()
    {
        using var client = NewClient();
        var info = await client.GetRepoInfoAsync(RepoId);
        var cache = new HubCache(CacheDir);
        var weights = info.Files.Single(f => f.Path == WeightsPath);
        Assert.False(cache.HasBlob(RepoId, weights));

        await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        Assert.All(HubFileSelector.Onnx(info.Files), f => Assert.True(cache.HasBlob(RepoId, f), f.Path));
        Assert.False(cache.HasBlob(RepoId, new HubRepoFile(WeightsPath))); // a list read from disk has no blob ids
        Assert.False(cache.HasBlob("tiny/absent", weights));
        File.Delete(Path.Combine(RepoDir, "blobs", Weights.Sha256));
        Assert.False(cache.HasBlob(RepoId, weights));
    }

    [Fact]
    public async Task A_missing_blob_makes_the_snapshot_incomplete_and_the_next_download_repairs_it()
    {
        using var client = NewClient();
        await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        File.Delete(Path.Combine(RepoDir, "blobs", Weights.Sha256));

        var cache = new HubCache(CacheDir);
        Assert.Null(cache.TryGetSnapshot(RepoId));
        Assert.Null(cache.TryGetSnapshot(RepoId, HubFileSelector.Onnx));

        Server.ResetRequests();
        string snapshot = await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        Assert.Equal(Weights.Sha256, Sha256Of(Path.Combine(snapshot, WeightsPath)));
        Assert.Equal(["GET", "HEAD", "GET"], Server.Requests.Select(r => r.Method).ToArray()); // API, HEAD, CDN GET of that one file
    }

    [Fact]
    public void An_empty_or_missing_cache_lists_nothing()
    {
        Assert.Empty(new HubCache(Path.Combine(CacheDir, "nope")).ListModels());
    }
}

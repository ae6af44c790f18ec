using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

/// <summary>
/// Issue 14 item 14: the cache after failed, interrupted or foreign downloads stays what huggingface_hub expects: the snapshot folder
/// exists before the ref points at it, stale partial files go once their blob exists, and an offline request for a partial
/// snapshot fails instead of passing for the whole.
/// </summary>
public sealed class HubCacheRepairTests : FakeHubTestBase
{
    [Fact]
    public async Task A_pull_failing_before_any_file_completes_still_creates_the_snapshot_folder_its_ref_points_at()
    {
        Server.CutTransfer(WeightsPath, afterBytes: 1000, times: 4); // the first try and its 3 retries are cut: the download fails
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "main", WeightsPath));
        Assert.Equal(HubErrorKind.Network, e.Kind);

        Assert.Equal(Repo.Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        string snapshot = Path.Combine(RepoDir, "snapshots", Repo.Commit);
        Assert.True(Directory.Exists(snapshot), "refs/main points at a snapshot folder that does not exist");
        Assert.Empty(Directory.EnumerateFileSystemEntries(snapshot));
        Assert.True(File.Exists(Path.Combine(RepoDir, "blobs", Weights.Sha256 + ".incomplete"))); // kept for resuming

        var model = Assert.Single(new HubCache(CacheDir).ListModels());
        Assert.Equal(Repo.Commit, Assert.Single(model.Snapshots).Commit);
        Assert.True(model.IncompleteBytes > 0);

        // The next run resumes and completes it.
        string file = await client.DownloadFileAsync(RepoId, "main", WeightsPath);
        Assert.Equal(Weights.Sha256, Sha256Of(file));
    }

    [Fact]
    public async Task A_stale_partial_file_is_not_listed_and_is_removed_once_its_blob_exists()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        // Another tool finished the blob while TurboGen's partial file of it was left behind.
        string stale = Path.Combine(RepoDir, "blobs", Weights.Sha256 + ".incomplete");
        File.WriteAllBytes(stale, new byte[1_100_000]);
        var cache = new HubCache(CacheDir);
        Assert.Equal(0, Assert.Single(cache.ListModels()).IncompleteBytes);

        // A partial file whose blob is still missing is real and stays.
        string partial = Path.Combine(RepoDir, "blobs", new string('a', 64) + ".incomplete");
        File.WriteAllBytes(partial, new byte[1000]);
        Assert.Equal(1000, Assert.Single(cache.ListModels()).IncompleteBytes);

        using (var again = NewClient())
        {
            await again.DownloadAsync(RepoId, "main", HubFileSelector.Onnx); // served from the cache
        }
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(partial));
    }

    [Fact]
    public async Task A_stale_partial_file_beside_a_blob_finished_by_another_process_is_removed_by_the_download()
    {
        using (var client = NewClient())
        {
            await client.DownloadFileAsync(RepoId, "main", WeightsPath);
        }
        // The blob exists (another process's download) but the snapshot lacks the link, so this run fetches: HEAD, no GET.
        File.Delete(Path.Combine(RepoDir, "snapshots", Repo.Commit, "unet", "model.onnx_data"));
        string stale = Path.Combine(RepoDir, "blobs", Weights.Sha256 + ".incomplete");
        File.WriteAllBytes(stale, new byte[5000]);
        Server.ResetRequests();
        using (var again = NewClient())
        {
            string file = await again.DownloadFileAsync(RepoId, "main", WeightsPath);
            Assert.Equal(Weights.Sha256, Sha256Of(file));
        }
        Assert.False(File.Exists(stale));
        Assert.DoesNotContain(Server.Requests, r => r.Method == "GET" && r.IsCdn);
    }

    [Fact]
    public async Task An_offline_request_for_a_partial_snapshot_fails_instead_of_returning_it()
    {
        Server.CutTransfer(WeightsPath, afterBytes: 1000, times: 4);
        using (var client = NewClient())
        {
            await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));
        }
        string snapshot = Path.Combine(RepoDir, "snapshots", Repo.Commit);
        Assert.True(File.Exists(Path.Combine(snapshot, "unet", "config.json")));     // the other files completed
        Assert.False(File.Exists(Path.Combine(snapshot, WeightsPath)));

        using var offline = NewClient(offline: true);
        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Contains("not (completely) in the cache", e.Message);
    }

    [Fact]
    public void MissingParts_tells_a_partial_variant_read_from_disk_from_a_whole_one()
    {
        HubRepoFile[] whole = [new("model_index.json"), new("tokenizer/vocab.json"), new("text_encoder/model.onnx"), new("unet/model.onnx"),
            new("unet/model.onnx_data"), new("vae_decoder/model.onnx")];
        var onnx = Assert.Single(HubVariants.Candidates(whole));
        Assert.Empty(HubVariants.MissingParts(onnx));
        var partial = Assert.Single(HubVariants.Candidates(whole.Where(f => !f.Path.StartsWith("vae_decoder/", StringComparison.Ordinal)).ToList()));
        Assert.Equal(["vae_decoder/*.onnx"], HubVariants.MissingParts(partial));

        HubRepoFile[] weights = [new("model_index.json"), new("tokenizer/vocab.json"), new("unet/config.json"), new("unet/diffusion_pytorch_model.safetensors")];
        var safetensors = Assert.Single(HubVariants.Candidates(weights));
        Assert.Equal(["text_encoder/*.safetensors", "text_encoder/config.json", "vae/*.safetensors", "vae/config.json"], HubVariants.MissingParts(safetensors));
    }
}

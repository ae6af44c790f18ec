using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

public sealed class HubClientErrorTests : FakeHubTestBase
{
    [Fact]
    public async Task Offline_mode_uses_a_complete_cache_without_requests()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        Server.ResetRequests();

        using var offline = NewClient(offline: true);
        string snapshot = await offline.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        Assert.Equal(Path.Combine(RepoDir, "snapshots", Repo.Commit), snapshot);
        Assert.Empty(Server.Requests);

        // Files that were never downloaded are reported, not silently missing.
        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadFileAsync(RepoId, "main", "unet/diffusion_pytorch_model.bin"));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Empty(Server.Requests);
    }

    [Fact]
    public async Task Offline_mode_with_nothing_cached_says_so()
    {
        using var offline = NewClient(offline: true);
        var e = await Assert.ThrowsAsync<HubException>(() => offline.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains(RepoId, e.Message);
        Assert.Empty(Server.Requests);
    }

    [Fact]
    public async Task Offline_mode_reuses_a_cache_written_by_the_python_tools()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        Directory.Delete(Path.Combine(RepoDir, ".turbogen"), recursive: true);

        using var offline = NewClient(offline: true);
        Assert.Equal(Path.Combine(RepoDir, "snapshots", Repo.Commit), await offline.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));
    }

    [Fact]
    public async Task An_unreachable_hub_falls_back_to_the_cache_or_fails_clearly()
    {
        using (var client = NewClient())
        {
            await client.DownloadAsync(RepoId, "main", HubFileSelector.Onnx);
        }
        const string deadEndpoint = "http://127.0.0.1:1";
        using var unreachable = NewClient(endpoint: deadEndpoint, checkForUpdates: true);
        Assert.Equal(Path.Combine(RepoDir, "snapshots", Repo.Commit), await unreachable.DownloadAsync(RepoId, "main", HubFileSelector.Onnx));

        var e = await Assert.ThrowsAsync<HubException>(() => unreachable.DownloadAsync("tiny/other", "main", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.Offline, e.Kind);
        Assert.Contains("Cannot reach " + deadEndpoint, e.Message);
        Assert.Contains("not in the cache", e.Message);
    }

    [Fact]
    public async Task A_gated_repo_without_token_asks_for_HF_TOKEN_and_the_licence()
    {
        Server.AddRepo(TinyRepo("corp/gated", gated: true, token: "hf_secret"));
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync("corp/gated", "main", HubFileSelector.Onnx));

        Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
        Assert.Contains("gated", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Contains("accept its licence on " + Server.Endpoint + "/corp/gated", e.Message);
        Assert.Contains(Server.Requests, r => r.Method == "HEAD" && r.Authorization is null);
    }

    [Fact]
    public async Task A_gated_repo_with_a_wrong_token_says_the_token_has_no_access()
    {
        Server.AddRepo(TinyRepo("corp/gated", gated: true, token: "hf_secret"));
        using var client = NewClient(token: "hf_wrong");
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync("corp/gated", "main", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
        Assert.Contains("HTTP 403", e.Message);
        Assert.Contains("token in HF_TOKEN has no access", e.Message);
    }

    [Fact]
    public async Task The_token_is_sent_to_the_hub_but_not_to_the_cdn()
    {
        var repo = Server.AddRepo(TinyRepo("corp/gated", gated: true, token: "hf_secret"));
        using var client = NewClient(token: "hf_secret");
        string snapshot = await client.DownloadAsync("corp/gated", "main", HubFileSelector.Onnx);

        Assert.Equal(repo.Find(WeightsPath)!.Sha256, Sha256Of(Path.Combine(snapshot, WeightsPath)));
        var requests = Server.Requests;
        Assert.All(requests.Where(r => !r.IsCdn), r => Assert.Equal("Bearer hf_secret", r.Authorization));
        Assert.Contains(requests, r => r.IsCdn);
        Assert.All(requests.Where(r => r.IsCdn), r => Assert.Null(r.Authorization));
    }

    [Fact]
    public async Task A_private_repo_without_token_is_reported_as_not_found_or_private()
    {
        Server.AddRepo(TinyRepo("corp/private", token: "hf_secret", isPrivate: true));
        using var client = NewClient();
        var e = await Assert.ThrowsAsync<HubException>(() => client.GetRepoInfoAsync("corp/private"));
        Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
        Assert.Contains("private or gated", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
    }

    [Fact]
    public async Task Unknown_repo_revision_and_file_are_404s_with_their_names()
    {
        using var client = NewClient();
        var repo = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync("nobody/nothing", "main", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.NotFound, repo.Kind);
        Assert.Equal($"Model nobody/nothing not found on {Server.Endpoint} (HTTP 404): check the id ('org/name').", repo.Message);

        var revision = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(RepoId, "v9", HubFileSelector.Onnx));
        Assert.Equal(HubErrorKind.NotFound, revision.Kind);
        Assert.Contains("Revision 'v9' not found in tiny/turbo", revision.Message);

        var file = await Assert.ThrowsAsync<HubException>(() => client.DownloadFileAsync(RepoId, "main", "unet/missing.onnx"));
        Assert.Equal(HubErrorKind.NotFound, file.Kind);
        Assert.Equal("File 'unet/missing.onnx' not found in tiny/turbo at revision 'main'.", file.Message);

        var variant = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(RepoId, "main", HubFileSelector.Safetensors));
        Assert.Equal(HubErrorKind.NotFound, variant.Kind);
        Assert.Contains("none of the requested files", variant.Message);
    }

    [Fact]
    public async Task Bad_options_and_ids_are_invalid_requests()
    {
        Assert.Throws<InvalidRequestException>(() => new HubClient(new HubOptions("not a url", null, CacheDir, false)));
        Assert.Throws<InvalidRequestException>(() => new HubClient(new HubOptions(Server.Endpoint, null, CacheDir, false, MaxParallelDownloads: 0)));
        using var client = NewClient();
        await Assert.ThrowsAsync<InvalidRequestException>(() => client.DownloadAsync("no-org", "main", HubFileSelector.Onnx));
    }
}

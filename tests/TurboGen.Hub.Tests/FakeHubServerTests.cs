using System.Net;
using System.Text.Json;

namespace TurboGen.Hub.Tests;

/// <summary>The fake Hub speaks the real API shapes (checked with a plain HttpClient, independent of HubClient).</summary>
public sealed class FakeHubServerTests : FakeHubTestBase
{
    [Fact]
    public async Task Tree_api_lists_directories_and_lfs_entries()
    {
        using var http = new HttpClient();
        using var recursive = JsonDocument.Parse(await http.GetStringAsync($"{Server.Endpoint}/api/models/{RepoId}/tree/main?recursive=true"));
        var entries = recursive.RootElement.EnumerateArray().ToList();
        Assert.Contains(entries, e => e.GetProperty("type").GetString() == "directory" && e.GetProperty("path").GetString() == "unet");
        var weights = entries.Single(e => e.GetProperty("path").GetString() == WeightsPath);
        Assert.Equal("file", weights.GetProperty("type").GetString());
        Assert.Equal(WeightsSize, weights.GetProperty("size").GetInt64());
        Assert.Equal(Weights.PointerGitSha1, weights.GetProperty("oid").GetString());
        Assert.Equal(Weights.Sha256, weights.GetProperty("lfs").GetProperty("oid").GetString());
        Assert.Equal(Repo.Files.Count, entries.Count(e => e.GetProperty("type").GetString() == "file"));

        using var unet = JsonDocument.Parse(await http.GetStringAsync($"{Server.Endpoint}/api/models/{RepoId}/tree/main/unet"));
        Assert.Equal(["unet/config.json", "unet/diffusion_pytorch_model.bin", "unet/model.onnx", WeightsPath],
            unet.RootElement.EnumerateArray().Select(e => e.GetProperty("path").GetString()!).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Resolve_redirects_lfs_files_and_serves_ranges()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Server.Endpoint}/{RepoId}/resolve/main/{WeightsPath}"));
        Assert.Equal(HttpStatusCode.Found, head.StatusCode);
        Assert.Equal($"\"{Weights.Sha256}\"", head.Headers.GetValues("X-Linked-Etag").Single());
        Assert.Equal(WeightsSize.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers.GetValues("X-Linked-Size").Single());
        Assert.Equal(Repo.Commit, head.Headers.GetValues("X-Repo-Commit").Single());
        Assert.StartsWith(Server.CdnEndpoint + "/cdn/", head.Headers.Location!.ToString());

        var ranged = new HttpRequestMessage(HttpMethod.Get, head.Headers.Location);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(WeightsSize - 10, null);
        using var part = await http.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal($"bytes {WeightsSize - 10}-{WeightsSize - 1}/{WeightsSize}", part.Content.Headers.ContentRange!.ToString());
        Assert.Equal(10, (await part.Content.ReadAsByteArrayAsync()).Length);

        var beyond = new HttpRequestMessage(HttpMethod.Get, head.Headers.Location);
        beyond.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(WeightsSize, null);
        using var unsatisfiable = await http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);

        using var small = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"{Server.Endpoint}/{RepoId}/resolve/main/unet/config.json"));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal($"\"{Repo.Find("unet/config.json")!.ContentGitSha1}\"", small.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task Repo_from_folder_serves_files_from_disk()
    {
        string folder = Testing.TestPaths.NewTempDir("fake-hub-folder");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "unet"));
            File.WriteAllText(Path.Combine(folder, "model_index.json"), "{}");
            File.WriteAllBytes(Path.Combine(folder, "unet", "model.onnx"), new byte[] { 1, 2, 3 });
            var repo = Server.AddRepo(Testing.FakeHub.FakeHubRepo.FromFolder("disk/model", folder));
            Assert.Equal(["model_index.json", "unet/model.onnx"], repo.Files.Select(f => f.Path).ToArray());
            Assert.True(repo.Find("unet/model.onnx")!.IsLfs);
            Assert.False(repo.Find("model_index.json")!.IsLfs);

            using var client = NewClient();
            string path = await client.DownloadFileAsync("disk/model", "main", "unet/model.onnx");
            Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

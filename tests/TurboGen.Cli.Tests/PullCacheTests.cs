using System.Text.Json;

namespace TurboGen.Cli.Tests;

/// <summary>Issue 14 item 14 through the CLI: an offline pull of a partial snapshot fails with exit 4; the summary counts the variant's files.</summary>
[Collection(CliCollection.Name)]
public sealed class PullCacheTests(CliFixture fixture)
{
    private static string RepoDir(string home) => Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo");

    [Fact]
    public async Task OfflinePull_OfAPartialSnapshotWithoutAFileList_FailsNamingWhatIsMissing()
    {
        // A cache as another tool leaves it after an interrupted download: no TurboGen file list, the VAE decoder absent.
        string home = fixture.NewHome();
        var pull = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Directory.Delete(Path.Combine(RepoDir(home), ".turbogen"), recursive: true);
        string snapshot = Directory.EnumerateDirectories(Path.Combine(RepoDir(home), "snapshots")).Single();
        Directory.Delete(Path.Combine(snapshot, "vae_decoder"), recursive: true);

        var offline = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), fixture.NewWorkDir(), "pull", CliFixture.RepoId);
        Assert.Equal(4, offline.ExitCode);
        Assert.Contains("only partly in the cache", offline.Stderr);
        Assert.Contains("vae_decoder/*.onnx", offline.Stderr);
        Assert.Empty(offline.Stdout);

        // Online, the same pull completes it.
        var online = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(online.ExitCode == 0, online.ToString());
        Assert.True(File.Exists(Path.Combine(snapshot, "vae_decoder", "model.onnx")));
    }

    [Fact]
    public async Task OfflinePull_OfAPartialTurboGenSnapshot_Fails()
    {
        string home = fixture.NewHome();
        var pull = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        string snapshot = Directory.EnumerateDirectories(Path.Combine(RepoDir(home), "snapshots")).Single();
        File.Delete(Path.Combine(snapshot, "unet", "model.onnx"));

        var offline = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), fixture.NewWorkDir(), "pull", CliFixture.RepoId);
        Assert.Equal(4, offline.ExitCode);
        Assert.Contains("HF_HUB_OFFLINE", offline.Stderr);
    }

    [Fact]
    public async Task PullSummary_CountsTheVariantsFiles_NotEverythingInTheSnapshot()
    {
        string home = fixture.NewHome();
        var first = await fixture.RunAsync(home, "pull", CliFixture.RepoId, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        int files;
        string path;
        using (var json = JsonDocument.Parse(first.Stdout))
        {
            files = json.RootElement.GetProperty("files").GetInt32();
            path = json.RootElement.GetProperty("path").GetString()!;
        }
        Assert.Equal(Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Count(), files);

        // Another tool added files of the same commit (a README, a second export): the summary still counts the variant's.
        File.WriteAllText(Path.Combine(path, "README.md"), "# extra");
        Directory.CreateDirectory(Path.Combine(path, "extra"));
        File.WriteAllText(Path.Combine(path, "extra", "notes.txt"), "x");
        var again = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains($": {files} files, ", again.Stdout);
    }
}

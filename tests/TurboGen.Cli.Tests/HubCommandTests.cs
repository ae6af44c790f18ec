using System.Text.Json;

namespace TurboGen.Cli.Tests;

/// <summary><c>pull</c>, <c>models</c>, <c>models rm</c> and the Hub/offline paths of model resolution, against the fake Hub.</summary>
[Collection(CliCollection.Name)]
public sealed class HubCommandTests(CliFixture fixture)
{
    [Fact]
    public async Task Models_ListsThePulledModel_AndRmRemovesIt()
    {
        string home = fixture.NewHome();
        var pull = await fixture.RunAsync(home, "pull", CliFixture.RepoId, "--json");
        Assert.True(pull.ExitCode == 0, pull.ToString());
        using (var pulled = JsonDocument.Parse(pull.Stdout))
        {
            Assert.Equal("onnx", pulled.RootElement.GetProperty("variant").GetString());
            Assert.True(pulled.RootElement.GetProperty("size_bytes").GetInt64() > 1_000_000);
            Assert.False(File.Exists(Path.Combine(pulled.RootElement.GetProperty("path").GetString()!, "taesd", "vae_decoder", "model.onnx")));
        }

        var table = await fixture.RunAsync(home, "models");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains(CliFixture.RepoId, table.Stdout);
        Assert.Contains("MB", table.Stdout);

        var list = await fixture.RunAsync(home, "models", "--json");
        using (var json = JsonDocument.Parse(list.Stdout))
        {
            var model = Assert.Single(json.RootElement.GetProperty("models").EnumerateArray());
            Assert.Equal(CliFixture.RepoId, model.GetProperty("id").GetString());
            Assert.True(model.GetProperty("size_bytes").GetInt64() > 1_000_000);
            Assert.Equal(1, model.GetProperty("snapshots").GetArrayLength());
        }

        var rm = await fixture.RunAsync(home, "models", "rm", CliFixture.RepoId);
        Assert.True(rm.ExitCode == 0, rm.ToString());
        Assert.False(Directory.Exists(Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo")));
        var empty = await fixture.RunAsync(home, "models", "--json");
        using (var json = JsonDocument.Parse(empty.Stdout))
        {
            Assert.Equal(0, json.RootElement.GetProperty("models").GetArrayLength());
        }

        var again = await fixture.RunAsync(home, "models", "rm", CliFixture.RepoId);
        Assert.Equal(4, again.ExitCode);
        Assert.Contains("not in the cache", again.Stderr);
    }

    [Fact]
    public async Task Generate_DownloadsTheDefaultModelWhenMissing_ThenWorksOffline()
    {
        string home = fixture.NewHome();
        var first = await fixture.RunAsync(home, "generate", "a cat", "--size", "64x64", "--seed", "1", "-o", "x.png", "--threads", "1");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("Downloading stabilityai/sdxl-turbo@main", first.Stderr);

        var offline = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), fixture.NewWorkDir(),
            "generate", "a cat", "--size", "64x64", "--seed", "1", "-o", "x.png", "--threads", "1");
        Assert.True(offline.ExitCode == 0, offline.ToString());
        Assert.DoesNotContain("Downloading", offline.Stderr);
    }

    [Fact]
    public async Task OfflineWithNothingCached_ExitsWithHubError()
    {
        var run = await CliProcess.RunAsync(fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1")), fixture.NewWorkDir(),
            "generate", "a cat", "--size", "64x64");
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("HF_HUB_OFFLINE", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr); // no stack trace
    }

    [Fact]
    public async Task UnreachableHubWithNothingCached_ExitsWithHubError()
    {
        var env = fixture.Environment(fixture.NewHome(), ("HF_ENDPOINT", "http://127.0.0.1:9"));
        var run = await CliProcess.RunAsync(env, fixture.NewWorkDir(), "pull", CliFixture.RepoId);
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("Cannot reach", run.Stderr);
    }

    [Fact]
    public async Task UnknownRepo_ExitsWithHubError()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "-m", "nobody/missing-model", "--size", "64x64");
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("nobody/missing-model", run.Stderr);
        Assert.Single(run.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task PullSafetensorsVariant_OfAnOnnxOnlyRepo_SaysThereIsNone()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "pull", CliFixture.RepoId, "--variant", "safetensors");
        Assert.Equal(4, run.ExitCode);
        Assert.Contains("none of the requested files", run.Stderr);
    }

    [Fact]
    public async Task CtrlC_DuringPull_ExitsWith130()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // SIGINT is sent with kill(1)
        }
        fixture.Hub.ChunkDelay = TimeSpan.FromMilliseconds(100);
        try
        {
            using var process = CliProcess.Start(fixture.Environment(fixture.NewHome()), fixture.NewWorkDir(), ["pull", CliFixture.RepoId], out var stdout, out var stderr);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!stderr.ToString().Contains("Downloading", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            Assert.False(process.HasExited, stdout + "\n" + stderr);
            await Task.Delay(300);
            CliProcess.Interrupt(process);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(130, process.ExitCode);
            Assert.Contains("cancelled", stderr.ToString());
        }
        finally
        {
            fixture.Hub.ChunkDelay = TimeSpan.Zero;
        }
    }
}

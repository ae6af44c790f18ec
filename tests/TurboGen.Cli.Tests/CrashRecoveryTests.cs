using System.Diagnostics;
using System.Text;
using TurboGen.Testing;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Issue 14, faults: the real CLI process killed (SIGKILL) during a model build or a download leaves no corrupt cache: the next start
/// resumes the download or rebuilds, and ends with what an uninterrupted run gives; a damaged build in the cache is rebuilt.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class CrashRecoveryTests(CliFixture fixture)
{
    [Fact]
    public async Task KilledDuringABuild_TheNextStartRebuilds_AndNoHalfBuildIsEverUsed()
    {
        string home = fixture.NewHome(), work = fixture.NewWorkDir();
        string model = GoldenDiffusersFolder.Write(Path.Combine(work, "diffusers-model"));
        string built = Path.Combine(home, "turbogen-cache", "built");

        // Paused (TURBOGEN_TEST_PAUSE) after the text encoders were written, before the UNet: then killed.
        var env = fixture.Environment(home, ("TURBOGEN_TEST_PAUSE", "build:unet"));
        Assert.True(await KillWhenAsync(env, work, ["generate", "a cat", "-m", model, "--size", "64x64", "--seed", "2", "-o", "a.png", "--threads", "1"],
            stderr => stderr.Contains("paused at build:unet", StringComparison.Ordinal)));
        var left = Directory.EnumerateDirectories(built).Select(Path.GetFileName).ToList();
        Assert.All(left, d => Assert.StartsWith(".", d));   // only the hidden temporary folder of the killed build
        Assert.NotEmpty(left);

        var again = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", model, "--size", "64x64", "--seed", "2", "-o", "b.png", "--threads", "1");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("building", again.Stderr);
        Assert.Empty(Directory.EnumerateDirectories(built, ".*"));   // the killed build's folder was removed
        Assert.Single(Directory.EnumerateDirectories(built));

        // A damaged build (its UNet weights truncated) is detected and rebuilt, and gives the same image.
        string entry = Directory.EnumerateDirectories(built).Single();
        string data = Path.Combine(entry, "unet", "model.onnx_data");
        using (var stream = new FileStream(data, FileMode.Open)) stream.SetLength(stream.Length - 4096);
        var repaired = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", model, "--size", "64x64", "--seed", "2", "-o", "c.png", "--threads", "1");
        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        Assert.Contains("discarding the damaged build", repaired.Stderr);
        Assert.Contains("unet/model.onnx_data", repaired.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(work, "b.png")), File.ReadAllBytes(Path.Combine(work, "c.png")));
    }

    [Fact]
    public async Task KilledDuringDownloads_AtRandomTimes_TheNextPullResumes_AndTheCacheIsWhole()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Process.Kill is TerminateProcess there; the property is the same but the timings differ
        }
        string home = fixture.NewHome();
        var random = new Random(14);
        fixture.Hub.ChunkDelay = TimeSpan.FromMilliseconds(50);
        int kills = 0;
        try
        {
            for (int round = 0; round < 4; round++)
            {
                int delayMs = random.Next(100, 900);
                DateTime? downloading = null;
                bool killed = await KillWhenAsync(fixture.Environment(home), fixture.NewWorkDir(), ["pull", CliFixture.RepoId], stderr =>
                {
                    if (downloading is null && stderr.Contains("Downloading", StringComparison.Ordinal)) downloading = DateTime.UtcNow;
                    return downloading is { } t && DateTime.UtcNow - t > TimeSpan.FromMilliseconds(delayMs);
                });
                AssertNoCorruptBlob(home);
                if (!killed) break;   // the resumed pull finished first
                kills++;
            }
        }
        finally
        {
            fixture.Hub.ChunkDelay = TimeSpan.Zero;
        }
        Assert.True(kills >= 1, "no pull was killed mid-download");
        var pull = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        AssertNoCorruptBlob(home);
        string snapshot = Directory.EnumerateDirectories(Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo", "snapshots")).Single();
        foreach (string file in Directory.EnumerateFiles(fixture.ModelFolder, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(fixture.ModelFolder, file);
            if (relative.StartsWith("taesd", StringComparison.Ordinal)) continue;
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(snapshot, relative)));
        }
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo", "blobs"), "*.incomplete"));
    }

    /// <summary>Every blob is named by its content hash (SHA-256 for LFS files, git SHA-1 for others) and holds exactly that content.</summary>
    private static void AssertNoCorruptBlob(string home)
    {
        string blobs = Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo", "blobs");
        if (!Directory.Exists(blobs)) return;
        foreach (string blob in Directory.EnumerateFiles(blobs).Where(f => !f.EndsWith(".incomplete", StringComparison.Ordinal)))
        {
            string name = Path.GetFileName(blob);
            byte[] bytes = File.ReadAllBytes(blob);
            string actual = name.Length == 64
                ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))
                : Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));
            Assert.Equal(name, actual);
        }
    }

    /// <summary>
    /// Starts the CLI and kills it (SIGKILL, the whole tree) as soon as <paramref name="when"/> holds for its stderr. False when the
    /// process ended first (then it must have succeeded).
    /// </summary>
    private static async Task<bool> KillWhenAsync(Dictionary<string, string> env, string work, string[] args, Func<string, bool> when)
    {
        using Process process = CliProcess.Start(env, work, args, out var stdout, out var stderr);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!when(stderr.ToString()) && !process.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        if (process.HasExited)
        {
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}:\n{stdout}\n{stderr}");
            return false;
        }
        Assert.True(DateTime.UtcNow < deadline, $"the kill point was not reached:\n{stdout}\n{stderr}");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        return true;
    }
}

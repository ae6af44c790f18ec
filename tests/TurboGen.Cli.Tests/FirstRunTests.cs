using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Testing;
using TurboGen.Testing.FakeHub;

namespace TurboGen.Cli.Tests;

/// <summary>
/// A fake Hub serving <c>stabilityai/sdxl-turbo</c> laid out like the real repository: an Optimum ONNX export, the diffusers
/// safetensors folders in fp32 and fp16 (tiny networks with the real tensor names, from the golden case), and a root single-file
/// checkpoint. The tiny ONNX export is larger than the fp16 weights, as the real one is (13.9 GB against 6.94 GB).
/// </summary>
public sealed class FirstRunHub : IAsyncLifetime
{
    public const string RepoId = "stabilityai/sdxl-turbo";

    private readonly string _root = TestPaths.NewTempDir("turbogen-first-run");

    public FakeHubServer Hub { get; private set; } = null!;

    public FakeHubRepo Repo { get; private set; } = null!;

    /// <summary>The repository paths of the fp16 diffusers variant (what the first run should download).</summary>
    public IReadOnlyList<string> Fp16Files { get; private set; } = [];

    /// <summary>Bytes of the ONNX export's and the fp16 weights' files (the test's premise: the export is the larger).</summary>
    public (long Onnx, long Fp16) WeightBytes { get; private set; }

    public async Task InitializeAsync()
    {
        string fp16 = GoldenDiffusersFolder.Write(Path.Combine(_root, "fp16"), fp16: true);
        string fp32 = GoldenDiffusersFolder.Write(Path.Combine(_root, "fp32"));
        string onnx = TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        string single = Path.Combine(_root, "single", "sd_xl_turbo_1.0.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(single)!);
        SingleFileTestCheckpoints.WriteSdxl(single);

        // One repository: the fp16 folder's configs, scheduler and tokenizers are the shared ones (as in the real repo); the other
        // folders add their weights (and the ONNX export its model files and the configs the diffusers folders do not have).
        var files = new Dictionary<string, FakeHubFile>(StringComparer.Ordinal);
        foreach (string folder in new[] { fp16, fp32, onnx })
        {
            foreach (var file in FakeHubRepo.FromFolder(RepoId, folder).Files)
            {
                files.TryAdd(file.Path, file);
            }
        }
        files.Add("sd_xl_turbo_1.0.safetensors", FakeHubFile.FromDisk("sd_xl_turbo_1.0.safetensors", single, isLfs: true));
        Hub = await FakeHubServer.StartAsync();
        Repo = Hub.AddRepo(new FakeHubRepo(RepoId, files.Values));

        Fp16Files = Directory.EnumerateFiles(fp16, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(fp16, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal).ToList();
        long Sum(IEnumerable<string> paths) => paths.Sum(p => new FileInfo(p).Length);
        WeightBytes = (
            Sum(Directory.EnumerateFiles(onnx, "model.onnx*", SearchOption.AllDirectories)),
            Sum(Directory.EnumerateFiles(fp16, "*.fp16.safetensors", SearchOption.AllDirectories)));
    }

    public Dictionary<string, string> Environment(string home, params (string Name, string Value)[] extra) => CliFixture.HubEnvironment(Hub, home, extra);

    public string NewFolder(string prefix) => Directory.CreateDirectory(Path.Combine(_root, prefix + "-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// <c>turbogen generate</c> with the default model on a machine with nothing cached: it downloads the smallest variant that serves
/// the CPU (the fp16 safetensors), says how much and how much space is free before the first byte, builds it and generates; later
/// runs work offline. <c>turbogen pull</c> fetches the same files.
/// </summary>
public sealed class FirstRunTests(FirstRunHub fixture) : IClassFixture<FirstRunHub>
{
    [Fact]
    public async Task Generate_DownloadsTheSmallestVariant_SaysSizeAndFreeSpace_BuildsAndGenerates()
    {
        Assert.True(fixture.WeightBytes.Onnx > fixture.WeightBytes.Fp16, $"premise: the ONNX export ({fixture.WeightBytes.Onnx} B) is larger than the fp16 weights ({fixture.WeightBytes.Fp16} B)");
        string home = fixture.NewFolder("home"), work = fixture.NewFolder("work");
        fixture.Hub.ResetRequests();

        var run = await CliProcess.RunAsync(fixture.Environment(home), work, "generate", "a cat", "--size", "64x64", "--seed", "3", "-o", "cat.png", "--threads", "1");

        Assert.True(run.ExitCode == 0, run.ToString());
        var fetched = fixture.Hub.Requests.Where(r => r.Method == "HEAD" && !r.IsCdn)
            .Select(r => Uri.UnescapeDataString(r.PathAndQuery).Split("/resolve/")[1].Split('/', 2)[1]).Order(StringComparer.Ordinal).ToList();
        Assert.All(fetched, path => Assert.Contains(path, fixture.Fp16Files)); // nothing of the ONNX export, fp32 weights or single file
        string snapshot = Path.Combine(home, "hub", "models--stabilityai--sdxl-turbo", "snapshots", fixture.Repo.Commit);
        Assert.Equal(fixture.Fp16Files, Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(snapshot, f).Replace(Path.DirectorySeparatorChar, '/')).Order(StringComparer.Ordinal));

        string[] lines = run.Stderr.Split('\n', StringSplitOptions.TrimEntries);
        string announce = Assert.Single(lines, l => l.StartsWith("Downloading stabilityai/sdxl-turbo@main", StringComparison.Ordinal));
        Assert.StartsWith($"Downloading stabilityai/sdxl-turbo@main (safetensors, fp16): {fixture.Fp16Files.Count} files, ", announce);
        Assert.EndsWith($" free in {Path.Combine(home, "hub")}.", announce);
        string build = Assert.Single(lines, l => l.StartsWith("Then built once into ONNX (fp32), ≈ ", StringComparison.Ordinal));
        Assert.EndsWith($" free in {Path.Combine(home, "turbogen-cache", "built")}.", build);
        Assert.True(Array.IndexOf(lines, announce) < Array.FindIndex(lines, l => l.StartsWith("Downloaded ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("turbogen: building ", StringComparison.Ordinal));

        var image = ImageCodec.Load(Path.Combine(work, "cat.png"));
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.True(image.Pixels.Distinct().Count() > 10, "the image should not be flat");

        // Everything is now local: offline, no download, and the build is reused.
        var offline = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), work,
            "generate", "a cat", "--size", "64x64", "--seed", "3", "-o", "again.png", "--threads", "1");
        Assert.True(offline.ExitCode == 0, offline.ToString());
        Assert.DoesNotContain("Downloading", offline.Stderr);
        Assert.Contains("using the cached build", offline.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(work, "cat.png")), File.ReadAllBytes(Path.Combine(work, "again.png")));
    }

    [Fact]
    public async Task Pull_FetchesWhatGenerateUses()
    {
        string home = fixture.NewFolder("home"), work = fixture.NewFolder("work");
        var pull = await CliProcess.RunAsync(fixture.Environment(home), work, "pull", FirstRunHub.RepoId, "--json");
        Assert.True(pull.ExitCode == 0, pull.ToString());
        using (var json = JsonDocument.Parse(pull.Stdout))
        {
            Assert.Equal("safetensors", json.RootElement.GetProperty("variant").GetString());
            Assert.Equal(fixture.Fp16Files.Count, json.RootElement.GetProperty("files").GetInt32());
        }
        Assert.Contains("Downloading stabilityai/sdxl-turbo@main (safetensors, fp16): ", pull.Stderr);
        Assert.DoesNotContain("Then built", pull.Stderr); // pull does not build

        var generate = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), work,
            "generate", "a dog", "--size", "64x64", "--seed", "5", "-o", "dog.png", "--threads", "1");
        Assert.True(generate.ExitCode == 0, generate.ToString());
        Assert.True(File.Exists(Path.Combine(work, "dog.png")));

        // The other variants stay available on request.
        var onnx = await CliProcess.RunAsync(fixture.Environment(home), work, "pull", FirstRunHub.RepoId, "--variant", "onnx", "--json");
        Assert.True(onnx.ExitCode == 0, onnx.ToString());
        using (var json = JsonDocument.Parse(onnx.Stdout))
        {
            Assert.Equal("onnx", json.RootElement.GetProperty("variant").GetString());
        }
    }
}

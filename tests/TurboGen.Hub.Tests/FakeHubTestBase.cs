using System.Security.Cryptography;
using TurboGen.Hub;
using TurboGen.Testing;
using TurboGen.Testing.FakeHub;

namespace TurboGen.Hub.Tests;

/// <summary>A fresh fake Hub serving "tiny/turbo" and an empty cache folder for every test.</summary>
public abstract class FakeHubTestBase : IAsyncLifetime
{
    protected const string RepoId = "tiny/turbo";
    protected const string WeightsPath = "unet/model.onnx_data";
    protected const int WeightsSize = 3 * 1024 * 1024;

    private readonly string _root = TestPaths.NewTempDir("hub-client");

    protected FakeHubServer Server { get; private set; } = null!;

    protected FakeHubRepo Repo { get; private set; } = null!;

    protected string CacheDir => Path.Combine(_root, "hub");

    protected string RepoDir => Path.Combine(CacheDir, "models--tiny--turbo");

    protected FakeHubFile Weights => Repo.Find(WeightsPath)!;

    /// <summary>The files HubFileSelector.Onnx picks from <see cref="TinyRepo"/>.</summary>
    protected static readonly string[] OnnxFiles =
    [
        "model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer_2/vocab.json",
        "unet/config.json", "unet/model.onnx", "unet/model.onnx_data",
    ];

    public async Task InitializeAsync()
    {
        Server = await FakeHubServer.StartAsync();
        Repo = Server.AddRepo(TinyRepo(RepoId));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>A small diffusers-like repo: configs, identical tokenizer vocabularies (one shared blob), a 20 KB model.onnx and a 3 MB LFS weights file.</summary>
    protected static FakeHubRepo TinyRepo(string repoId, bool gated = false, string? token = null, bool isPrivate = false)
    {
        var random = new Random(1234);
        byte[] weights = new byte[WeightsSize];
        random.NextBytes(weights);
        byte[] onnx = new byte[20_000];
        random.NextBytes(onnx);
        byte[] bin = new byte[10_000];
        random.NextBytes(bin);
        const string vocab = "{\"a</w>\": 0, \"b</w>\": 1, \"<|startoftext|>\": 2}";
        return new FakeHubRepo(repoId,
        [
            FakeHubFile.FromText(".gitattributes", "*.onnx filter=lfs diff=lfs merge=lfs -text\n"),
            FakeHubFile.FromText("README.md", "# tiny turbo\n"),
            FakeHubFile.FromText("model_index.json", "{\"_class_name\": \"StableDiffusionXLPipeline\"}"),
            FakeHubFile.FromText("scheduler/scheduler_config.json", "{\"_class_name\": \"EulerAncestralDiscreteScheduler\", \"timestep_spacing\": \"trailing\"}"),
            FakeHubFile.FromText("tokenizer/vocab.json", vocab),
            FakeHubFile.FromText("tokenizer_2/vocab.json", vocab),
            FakeHubFile.FromText("unet/config.json", "{\"sample_size\": 64}"),
            FakeHubFile.FromBytes("unet/model.onnx", onnx, isLfs: true),
            FakeHubFile.FromBytes(WeightsPath, weights, isLfs: true),
            FakeHubFile.FromBytes("unet/diffusion_pytorch_model.bin", bin, isLfs: true),
        ])
        { Gated = gated, RequiredToken = token, Private = isPrivate };
    }

    protected HubClient NewClient(string? token = null, bool offline = false, int parallel = 4, bool checkForUpdates = false, string? endpoint = null) =>
        new(new HubOptions(endpoint ?? Server.Endpoint, token, CacheDir, offline, parallel, checkForUpdates));

    protected static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    protected string[] BlobNames() =>
        Directory.Exists(Path.Combine(RepoDir, "blobs"))
            ? Directory.EnumerateFiles(Path.Combine(RepoDir, "blobs")).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray()
            : [];
}

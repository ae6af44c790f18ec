using TurboGen.Testing;
using TurboGen.Testing.FakeHub;

namespace TurboGen.Cli.Tests;

/// <summary>
/// One fake Hugging Face Hub for the whole suite, serving a tiny SDXL-Turbo model under the real id
/// <c>stabilityai/sdxl-turbo</c> (so the CLI's default model works), and a cache folder where it has been pulled once.
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    public const string RepoId = "stabilityai/sdxl-turbo";

    private readonly string _root = TestPaths.NewTempDir("turbogen-cli");

    public FakeHubServer Hub { get; private set; } = null!;

    /// <summary>The tiny model folder the fake Hub serves (it also has a tiny VAE in taesd/, which the ONNX selector does not download).</summary>
    public string ModelFolder { get; private set; } = null!;

    /// <summary>An HF_HOME where the model has been pulled (tests only read it).</summary>
    public string PulledHome { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ModelFolder = TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew, withTinyVae: true);
        Hub = await FakeHubServer.StartAsync();
        Hub.AddRepo(FakeHubRepo.FromFolder(RepoId, ModelFolder, (path, length) => !path.StartsWith("taesd/", StringComparison.Ordinal) && FakeHubRepo.DefaultIsLfs(path, length)));
        PulledHome = NewHome();
        var pull = await RunAsync(PulledHome, "pull", RepoId);
        if (pull.ExitCode != 0)
        {
            throw new InvalidOperationException("turbogen pull failed in the fixture:\n" + pull);
        }
    }

    /// <summary>A fresh, empty HF_HOME.</summary>
    public string NewHome() => Directory.CreateDirectory(Path.Combine(_root, "home-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    /// <summary>A fresh working folder for output files.</summary>
    public string NewWorkDir() => Directory.CreateDirectory(Path.Combine(_root, "work-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    public Dictionary<string, string> Environment(string home, params (string Name, string Value)[] extra) => HubEnvironment(Hub, home, extra);

    /// <summary>A CLI environment talking to <paramref name="hub"/>, with HF_HOME and TURBOGEN_CACHE inside <paramref name="home"/>.</summary>
    public static Dictionary<string, string> HubEnvironment(FakeHubServer hub, string home, params (string Name, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["HF_ENDPOINT"] = hub.Endpoint,
            ["HF_HOME"] = home,
            ["TURBOGEN_CACHE"] = Path.Combine(home, "turbogen-cache"), // built models stay in the test's folder
        };
        foreach (var (name, value) in extra)
        {
            env[name] = value;
        }
        return env;
    }

    /// <summary>Runs the CLI against the fake Hub with the given HF_HOME, in a fresh working folder, with one ONNX thread.</summary>
    public Task<CliResult> RunAsync(string home, params string[] args) => RunInAsync(home, NewWorkDir(), args);

    public Task<CliResult> RunInAsync(string home, string workDir, params string[] args) => CliProcess.RunAsync(Environment(home), workDir, args);

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

[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliFixture>
{
    public const string Name = "turbogen CLI";
}

using System.Diagnostics;
using TurboGen.Building;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Building;

/// <summary>A progress sink that records every line synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
public sealed class RecordingProgress : IProgress<string>
{
    private readonly List<string> _lines = [];
    public Action<string>? OnReport { get; init; }

    public IReadOnlyList<string> Lines
    {
        get { lock (_lines) return [.. _lines]; }
    }

    public void Report(string value)
    {
        lock (_lines) _lines.Add(value);
        OnReport?.Invoke(value);
    }
}

/// <summary>
/// The golden SDXL diffusers folder, resolved once per test run through <see cref="ModelResolver"/> (built into a temporary
/// cache root), with the golden TAESD built through <see cref="ModelResolver.ResolveTinyVae"/>, and loaded once.
/// </summary>
public sealed class BuiltGoldenModelFixture : IDisposable
{
    public BuiltGoldenModelFixture()
    {
        CacheRoot = TestPaths.NewTempDir("turbogen-cache");
        DiffusersDir = GoldenDiffusersFolder.Write(Path.Combine(TestPaths.NewTempDir("turbogen-diffusers"), "sdxl-turbo-tiny"));
        var options = new ModelResolveOptions { CacheRoot = CacheRoot, Progress = BuildProgress };
        var sw = Stopwatch.StartNew();
        OnnxDir = ModelResolver.Resolve(DiffusersDir, options);
        BuildSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        TinyVaeDir = ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), options);
        TinyVaeBuildSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        Model = TurboModel.Load(OnnxDir, new ModelLoadOptions { TinyVaePath = TinyVaeDir, Runtime = new RuntimeOptions { Threads = 1 } });
        LoadSeconds = sw.Elapsed.TotalSeconds;
    }

    public string CacheRoot { get; }
    public string DiffusersDir { get; }
    public string OnnxDir { get; }
    public string TinyVaeDir { get; }
    public TurboModel Model { get; }
    public RecordingProgress BuildProgress { get; } = new();
    public double BuildSeconds { get; }
    public double TinyVaeBuildSeconds { get; }
    public double LoadSeconds { get; }

    public void Dispose()
    {
        Model.Dispose();
        TryDelete(CacheRoot);
        TryDelete(Path.GetDirectoryName(DiffusersDir)!);
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition("built-golden-model")]
public sealed class BuiltGoldenModelCollection : ICollectionFixture<BuiltGoldenModelFixture>;

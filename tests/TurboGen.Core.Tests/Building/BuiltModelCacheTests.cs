using System.Text.Json;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Building;

[Collection("built-golden-model")]
public sealed class BuiltModelCacheTests(BuiltGoldenModelFixture fixture)
{
    [Fact]
    public void FirstResolve_Built_IntoTheContentHashFolder()
    {
        Assert.Contains(fixture.BuildProgress.Lines, l => l.StartsWith("unet: building the graph", StringComparison.Ordinal));
        using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, fixture.CacheRoot);
        Assert.Equal(Path.Combine(fixture.CacheRoot, "built", $"{components.ContentHash}-b{BuiltModelCache.BuilderVersion}"), fixture.OnnxDir);
        Assert.Matches("^[0-9a-f]{64}$", components.ContentHash);

        using var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.OnnxDir, OnnxModelBuilder.BuildInfoFile)));
        Assert.Equal(OnnxModelBuilder.BuilderVersion, info.RootElement.GetProperty("builder_version").GetInt32());
        Assert.Equal(components.ContentHash, info.RootElement.GetProperty("content_hash").GetString());
        // Nothing but finished builds in the cache (no temporary folders left behind).
        Assert.All(Directory.EnumerateDirectories(Path.Combine(fixture.CacheRoot, "built")), d => Assert.DoesNotContain(".tmp-", d));
    }

    [Fact]
    public void SecondGetOrBuild_ReturnsTheCachedFolder_WithoutBuilding()
    {
        var before = Snapshot(fixture.OnnxDir);
        var progress = new RecordingProgress();
        using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, fixture.CacheRoot);

        string path = BuiltModelCache.GetOrBuild(components, fixture.CacheRoot, progress);

        Assert.Equal(fixture.OnnxDir, path);
        Assert.True(BuiltModelCache.IsBuilt(components, fixture.CacheRoot));
        string line = Assert.Single(progress.Lines);
        Assert.StartsWith("using the cached build", line);
        Assert.Equal(before, Snapshot(fixture.OnnxDir));
    }

    [Fact]
    public void ACopyOfTheCheckpointElsewhere_HasTheSameHash_AndHitsTheCache()
    {
        string copy = Path.Combine(TestPaths.NewTempDir("turbogen-copy"), "renamed-model");
        CopyDirectory(fixture.DiffusersDir, copy);
        var progress = new RecordingProgress();
        try
        {
            string path = ModelResolver.Resolve(copy, new ModelResolveOptions { CacheRoot = fixture.CacheRoot, Progress = progress });
            Assert.Equal(fixture.OnnxDir, path);
            Assert.DoesNotContain(progress.Lines, l => l.Contains("building", StringComparison.Ordinal));

            // Any change the built model depends on (here the scheduler config) gives another key.
            File.WriteAllText(Path.Combine(copy, "scheduler", "scheduler_config.json"),
                File.ReadAllText(Path.Combine(copy, "scheduler", "scheduler_config.json")).Replace("trailing", "leading", StringComparison.Ordinal));
            using var changed = DiffusersCheckpoint.Open(copy, fixture.CacheRoot);
            Assert.NotEqual(fixture.OnnxDir, BuiltModelCache.PathFor(changed, fixture.CacheRoot));
            Assert.False(BuiltModelCache.IsBuilt(changed, fixture.CacheRoot));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true);
        }
    }

    [Fact]
    public void ADamagedCacheEntry_IsRebuilt()
    {
        string cacheRoot = TestPaths.NewTempDir("turbogen-cache");
        try
        {
            using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, cacheRoot);
            string first = BuiltModelCache.GetOrBuild(components, cacheRoot);
            File.Delete(Path.Combine(first, "unet", "model.onnx"));
            var progress = new RecordingProgress();

            string second = BuiltModelCache.GetOrBuild(components, cacheRoot, progress);

            Assert.Equal(first, second);
            Assert.Contains(progress.Lines, l => l.StartsWith("discarding the damaged build", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(second, "unet", "model.onnx")));
        }
        finally
        {
            Directory.Delete(cacheRoot, recursive: true);
        }
    }

    /// <summary>Every file under <paramref name="dir"/> with its size and last-write time.</summary>
    private static Dictionary<string, (long, DateTime)> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));

    internal static void CopyDirectory(string source, string target)
    {
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }
}

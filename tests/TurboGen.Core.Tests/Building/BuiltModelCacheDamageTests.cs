using System.Diagnostics;
using System.Text.Json.Nodes;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Building;

/// <summary>
/// Issue 14, faults: a built-model cache entry damaged after its build (a file truncated, deleted or edited) is detected from the
/// file list in its build-info file and rebuilt; the temporary folder of a build whose process was killed is removed by the next build.
/// </summary>
[Collection("built-golden-model")]
public sealed class BuiltModelCacheDamageTests(BuiltGoldenModelFixture fixture) : IDisposable
{
    private readonly string _cacheRoot = TestPaths.NewTempDir("turbogen-cache-damage");

    public void Dispose() => Directory.Delete(_cacheRoot, recursive: true);

    public static TheoryData<string, string> Damages => new()
    {
        { "truncate", "vae_decoder/model.onnx_data" },
        { "delete", "text_encoder_2/model.onnx" },
        { "edit", "unet/config.json" },
        { "edit", "tokenizer/vocab.json" },
        { "delete", "scheduler/scheduler_config.json" },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void ADamagedEntry_IsDetected_AndRebuilt(string damage, string file)
    {
        using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, _cacheRoot);
        string built = BuiltModelCache.GetOrBuild(components, _cacheRoot);
        Assert.Null(BuildManifest.Verify(built));
        string path = Path.Combine(built, file.Replace('/', Path.DirectorySeparatorChar));
        byte[] original = File.ReadAllBytes(path);
        switch (damage)
        {
            case "truncate":
                using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length / 2);
                break;
            case "delete":
                File.Delete(path);
                break;
            default:
                byte[] edited = (byte[])original.Clone();
                edited[edited.Length / 2] ^= 0x20;   // same size, other content
                File.WriteAllBytes(path, edited);
                break;
        }
        Assert.NotNull(BuildManifest.Verify(built));
        Assert.False(BuiltModelCache.IsBuilt(components, _cacheRoot));

        var progress = new RecordingProgress();
        string rebuilt = BuiltModelCache.GetOrBuild(components, _cacheRoot, progress);

        Assert.Equal(built, rebuilt);
        string line = Assert.Single(progress.Lines, l => l.StartsWith("discarding the damaged build", StringComparison.Ordinal));
        Assert.Contains(file, line);
        Assert.Null(BuildManifest.Verify(rebuilt));
        Assert.Equal(original, File.ReadAllBytes(path));
    }

    [Fact]
    public void TheBuildInfo_ListsEveryFile_WithSizes_AndHashesOfTheSmallOnes()
    {
        using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, _cacheRoot);
        string built = BuiltModelCache.GetOrBuild(components, _cacheRoot);
        var files = JsonNode.Parse(File.ReadAllText(Path.Combine(built, OnnxModelBuilder.BuildInfoFile)))!["files"]!.AsObject();
        var onDisk = Directory.EnumerateFiles(built, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(built, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != OnnxModelBuilder.BuildInfoFile).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(onDisk, files.Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList());
        Assert.All(files, kv => Assert.Equal(new FileInfo(Path.Combine(built, kv.Key)).Length, kv.Value!["bytes"]!.GetValue<long>()));
        Assert.Matches("^[0-9a-f]{64}$", files["unet/model.onnx"]!["sha256"]!.GetValue<string>());
    }

    [Fact]
    public void TheTemporaryFolderOfAKilledBuild_IsRemovedByTheNextBuild_ALiveOneIsNot()
    {
        using var components = DiffusersCheckpoint.Open(fixture.DiffusersDir, _cacheRoot);
        string target = BuiltModelCache.PathFor(components, _cacheRoot);
        string name = Path.GetFileName(target), parent = Path.GetDirectoryName(target)!;
        int deadPid = ExitedProcessId();
        string abandoned = Directory.CreateDirectory(Path.Combine(parent, $".{name}.tmp-{deadPid}-0badf00d")).FullName;
        File.WriteAllBytes(Path.Combine(abandoned, "half.onnx_data"), new byte[4096]);
        string live = Directory.CreateDirectory(Path.Combine(parent, $".{name}.tmp-{Environment.ProcessId}-600dcafe")).FullName;

        BuiltModelCache.GetOrBuild(components, _cacheRoot);

        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(live)); // this process is running: its folder may be a build in progress
        Assert.Null(BuildManifest.Verify(target));
    }

    /// <summary>The id of a process that has exited (so no process has it, barring reuse).</summary>
    private static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.Id;
    }
}

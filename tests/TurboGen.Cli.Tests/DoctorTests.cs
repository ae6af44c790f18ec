using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace TurboGen.Cli.Tests;

/// <summary>
/// <c>turbogen doctor</c> through the real process. What it prints is checked against what this test process finds by
/// other means: ONNX Runtime's own version call, the runtime's intrinsics, /proc/cpuinfo, the folders the test set.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class DoctorTests(CliFixture fixture)
{
    [Fact]
    public async Task Json_ReportsTheCpuBuild_ItsProviders_TheCachesAndTheCachedDefaultModel()
    {
        var run = await fixture.RunAsync(fixture.PulledHome, "doctor", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);   // exactly one JSON value on stdout
        var root = json.RootElement;

        Assert.Equal("cpu", root.GetProperty("build").GetProperty("flavour").GetString());
        Assert.Equal("TurboGen.Cli", root.GetProperty("build").GetProperty("tool_package").GetString());
        Assert.Equal("Microsoft.ML.OnnxRuntime", root.GetProperty("build").GetProperty("onnx_runtime_package").GetString());
        Assert.Equal(OrtEnv.Instance().GetVersionString(), root.GetProperty("onnx_runtime_version").GetString());

        var providers = root.GetProperty("providers").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.True(providers["cpu"].GetProperty("in_build").GetBoolean());
        Assert.True(providers["cpu"].GetProperty("loads").GetBoolean());
        Assert.False(providers["cuda"].GetProperty("in_build").GetBoolean());   // the CPU package has no CUDA provider
        Assert.Equal(["cpu", "cuda", "tensorrt", "directml", "coreml"], providers.Keys);

        var cpu = root.GetProperty("cpu");
        Assert.Equal(Environment.ProcessorCount, cpu.GetProperty("logical_processors").GetInt32());
        int physical = cpu.GetProperty("physical_cores").GetInt32();
        Assert.InRange(physical, 1, Environment.ProcessorCount);
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
        {
            var features = cpu.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
            Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported, features["AVX2"].GetProperty("supported").GetBoolean());
            if (OperatingSystem.IsLinux())
            {
                var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
                Assert.Equal(flags.Contains("avx512_vnni"), features["AVX-512 VNNI"].GetProperty("supported").GetBoolean());
                Assert.Equal(flags.Contains("amx_int8"), features["AMX-INT8"].GetProperty("supported").GetBoolean());
                Assert.Contains("cpuinfo", features["AMX-INT8"].GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
            }
        }

        var caches = root.GetProperty("caches").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(Path.Combine(fixture.PulledHome, "hub"), caches["huggingface"].GetProperty("path").GetString());
        Assert.True(caches["huggingface"].GetProperty("size_bytes").GetInt64() > 0);
        Assert.True(caches["huggingface"].GetProperty("free_bytes").GetInt64() > 0);
        Assert.Equal(Path.Combine(fixture.PulledHome, "turbogen-cache"), caches["turbogen"].GetProperty("path").GetString());

        var model = root.GetProperty("default_model");
        Assert.Equal(CliFixture.RepoId, model.GetProperty("id").GetString());
        Assert.True(model.GetProperty("cached").GetBoolean());
        Assert.StartsWith(Path.Combine(fixture.PulledHome, "hub", "models--stabilityai--sdxl-turbo", "snapshots"), model.GetProperty("path").GetString());
    }

    [Fact]
    public async Task EmptyHome_ReportsNothingCached_AndFreeSpaceOfTheParentVolume()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "doctor", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.False(root.GetProperty("default_model").GetProperty("cached").GetBoolean());
        var hub = root.GetProperty("caches").EnumerateArray().First(c => c.GetProperty("name").GetString() == "huggingface");
        Assert.False(hub.GetProperty("exists").GetBoolean());
        Assert.False(hub.TryGetProperty("size_bytes", out _));
        Assert.True(hub.GetProperty("free_bytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Text_NamesTheBuildProvidersCpuCachesAndModel()
    {
        var run = await fixture.RunAsync(fixture.PulledHome, "doctor");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"ONNX Runtime {OrtEnv.Instance().GetVersionString()} (Microsoft.ML.OnnxRuntime)", run.Stdout);
        Assert.Contains("cpu flavour (tool TurboGen.Cli", run.Stdout);
        Assert.Contains("physical cores", run.Stdout);
        Assert.Contains(Path.Combine(fixture.PulledHome, "hub"), run.Stdout);
        Assert.Contains($"Default model {CliFixture.RepoId}: cached", run.Stdout);
        Assert.Empty(run.Stderr);
    }

    [NoCudaFact]
    public async Task CudaFlavour_HasTheCudaProvider_AndSaysWhyItDoesNotLoadHere()
    {
        var run = await CliProcess.RunDllAsync(CliProcess.CudaCliDll, fixture.Environment(fixture.NewHome()), fixture.NewWorkDir(), "doctor", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal("cuda", root.GetProperty("build").GetProperty("flavour").GetString());
        Assert.Equal("cuda", root.GetProperty("build").GetProperty("default_provider").GetString());
        Assert.Equal("Microsoft.ML.OnnxRuntime.Gpu.Linux", root.GetProperty("build").GetProperty("onnx_runtime_package").GetString());
        var cuda = root.GetProperty("providers").EnumerateArray().First(p => p.GetProperty("name").GetString() == "cuda");
        Assert.True(cuda.GetProperty("in_build").GetBoolean());
        Assert.False(cuda.GetProperty("loads").GetBoolean());
        Assert.StartsWith("libonnxruntime_providers_cuda.so: ", cuda.GetProperty("problem").GetString());
    }
}

using System.Runtime.InteropServices;

namespace TurboGen.Cli.Tests;

/// <summary>
/// The CUDA flavour (src/TurboGen.Cli.Cuda: the same sources on Microsoft.ML.OnnxRuntime.Gpu.Linux) run as a real process.
/// On a machine without the CUDA libraries, <c>--provider cuda</c> must fail where the session is created, with the same
/// one-line message and exit code 6 as any unavailable provider: never a native crash or a stack trace.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class FlavourTests(CliFixture fixture)
{
    [NoCudaFact]
    public async Task CudaFlavour_WithoutCuda_FailsAtSessionCreation_Exit6()
    {
        string work = fixture.NewWorkDir();
        string[] args = ["generate", "a cat", "-m", fixture.ModelFolder, "--provider", "cuda", "--size", "64x64", "--threads", "1", "-o", "cat.png"];
        var run = await CliProcess.RunDllAsync(CliProcess.CudaCliDll, fixture.Environment(fixture.NewHome()), work, args);

        Assert.True(run.ExitCode == 6, run.ToString());
        string[] lines = run.Stderr.Trim().Split('\n');
        Assert.True(lines.Length == 1, run.ToString());   // ONNX Runtime's own log line is not repeated on stderr
        string line = lines[0];
        Assert.StartsWith("turbogen: error: The 'cuda' execution provider is not available", line);
        Assert.True(line.Contains("libonnxruntime_providers_cuda.so: libcu", StringComparison.Ordinal), line);   // the loader names the missing CUDA library
        Assert.Contains("--provider cpu", line);
        Assert.Empty(run.Stdout);
        Assert.False(File.Exists(Path.Combine(work, "cat.png")));

        // Where it failed: creating the first ONNX Runtime session (the model folder was found and read first).
        var verbose = await CliProcess.RunDllAsync(CliProcess.CudaCliDll, fixture.Environment(fixture.NewHome()), fixture.NewWorkDir(), [.. args, "--verbose"]);
        Assert.True(verbose.ExitCode == 6, verbose.ToString());
        Assert.Contains("ExecutionProviderUnavailableException", verbose.Stderr);
        Assert.Contains("SessionFactory.Create", verbose.Stderr);
    }

    [Fact]
    public async Task CudaFlavour_RunsOnTheCpuProvider()
    {
        // The same build still runs everything on the CPU when asked: the GPU package carries the CPU provider too.
        string work = fixture.NewWorkDir();
        var run = await CliProcess.RunDllAsync(CliProcess.CudaCliDll, fixture.Environment(fixture.NewHome()), work,
            "generate", "a cat", "-m", fixture.ModelFolder, "--provider", "cpu", "--size", "64x64", "--seed", "3", "--threads", "1", "-o", "cat.png");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(Path.Combine(work, "cat.png")));
    }
}

/// <summary>A fact that needs a machine without the CUDA driver (libcuda): skipped, with the reason shown, on a GPU machine.</summary>
public sealed class NoCudaFactAttribute : FactAttribute
{
    public NoCudaFactAttribute()
    {
        if (NativeLibrary.TryLoad(OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1", out var handle))
        {
            NativeLibrary.Free(handle);
            Skip = "This machine has the CUDA driver (libcuda): the CUDA flavour's no-GPU failure cannot be observed here.";
        }
    }
}

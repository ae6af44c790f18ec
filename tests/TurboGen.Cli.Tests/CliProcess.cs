using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace TurboGen.Cli.Tests;

/// <summary>What a finished <c>turbogen</c> process returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Starts the built CLI (<c>dotnet turbogen.dll ...</c> from src/TurboGen.Cli's build output, or another flavour's) as a real
/// process with a controlled environment: the Hugging Face variables a user could have set are removed, then the test's are applied.
/// </summary>
public static class CliProcess
{
    private static readonly string[] ClearedVariables =
    [
        "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",
        "HF_HUB_OFFLINE", "TURBOGEN_API_KEY",
    ];

    /// <summary>turbogen.dll of the CLI project (the CPU flavour), built with the same configuration as these tests.</summary>
    public static string CliDll { get; } = FindCli("TurboGenCliDll", "src/TurboGen.Cli");

    /// <summary>turbogen.dll of the CUDA flavour (src/TurboGen.Cli.Cuda: the same sources on Microsoft.ML.OnnxRuntime.Gpu.Linux).</summary>
    public static string CudaCliDll => CudaDll.Value;

    private static readonly Lazy<string> CudaDll = new(() => FindCli("TurboGenCudaCliDll", "src/TurboGen.Cli.Cuda"));

    public static Task<CliResult> RunAsync(IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] args) =>
        RunDllAsync(CliDll, environment, workingDirectory, args);

    /// <summary>Runs one flavour's turbogen.dll (<see cref="CliDll"/>, <see cref="CudaCliDll"/>) to the end (at most 120 s).</summary>
    public static async Task<CliResult> RunDllAsync(string cliDll, IReadOnlyDictionary<string, string> environment, string workingDirectory, params string[] args)
    {
        using var process = Start(environment, workingDirectory, args, out var stdout, out var stderr, cliDll);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"turbogen {string.Join(' ', args)} did not finish in 120 s.\n{stdout}\n{stderr}");
        }
        return new CliResult(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Starts the CLI without waiting; stdout/stderr are collected into the builders as they arrive.</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, string workingDirectory, string[] args,
        out StringBuilder stdout, out StringBuilder stderr, string? cliDll = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(cliDll ?? CliDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (string name in ClearedVariables)
        {
            info.Environment.Remove(name);
        }
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (error) error.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stdout = output;
        stderr = error;
        return process;
    }

    /// <summary>Sends SIGINT (what Ctrl-C sends) to a process.</summary>
    public static void Interrupt(Process process)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-INT {process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    private static string FindCli(string key, string project)
    {
        string? path = typeof(CliProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        if (path is null || !File.Exists(path))
        {
            throw new FileNotFoundException($"The CLI build output was not found at {path}; build tests/TurboGen.Cli.Tests (it builds {project}).");
        }
        return path;
    }
}

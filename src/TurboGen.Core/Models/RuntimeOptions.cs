using Microsoft.ML.OnnxRuntime;

namespace TurboGen.Models;

/// <summary>How ONNX Runtime sessions are created: execution provider by name, threads, device.</summary>
public sealed record RuntimeOptions
{
    /// <summary>"cpu" (default), "cuda", "tensorrt", "directml" or "coreml".</summary>
    public string Provider { get; init; } = "cpu";

    /// <summary>Intra-op threads; 0 = the number of physical cores.</summary>
    public int Threads { get; init; }

    public int DeviceId { get; init; }

    /// <summary>
    /// Folder for ONNX Runtime's optimized models (CPU only; see <see cref="OptimizedSessionCache"/>): the first load writes
    /// the optimized graph and its weights there, later loads skip optimization (pre-packing, if on, still runs at load: <see cref="PrepackWeights"/>). Null (default): no cache.
    /// </summary>
    public string? SessionCacheDir { get; init; }

    /// <summary>
    /// Let ONNX Runtime pre-pack constant MatMul/Gemm weights into its GEMM layout when a session is created (default true).
    /// Pre-packing copies every packed weight into private memory once, so loading reads the weights and writes them again
    /// (SDXL-Turbo: ≈ 14 s instead of ≈ 3.5 s from the optimized-session cache) and each run is faster (SDXL-Turbo UNet
    /// ≈ 15 % at 512², text encoders more; SD-Turbo: no measurable difference). Without it ONNX Runtime runs on the
    /// memory-mapped weight file as it is (pages shared with the OS file cache) and packs GEMM panels per call. Long-lived
    /// pipelines (a server) want it on; one image per process (<c>turbogen generate</c>) wants it off. Graphs with 8-bit
    /// <c>MatMulNBits</c> (<c>--kernels int8</c>) need it: without pre-packing they ran 22 % (UNet) to 3× (text encoder)
    /// slower. Figures: docs/PERFORMANCE.md.
    /// </summary>
    public bool PrepackWeights { get; init; } = true;

    /// <summary>
    /// Return each component's activation memory to the OS after every run (ONNX Runtime arena shrinkage; default true), so
    /// peak memory is the weights plus the largest single component's activations instead of the sum over all components
    /// (SD-Turbo with the full VAE: 1.41× → 1.22× of the weights). Costs the page faults of re-allocating activations on the
    /// next run (≈ 1–3 % of a generation); the tiny VAE decoder keeps its small arena (there the re-faulting was +16 % of its time).
    /// </summary>
    public bool ReleaseMemoryAfterRun { get; init; } = true;

    public static readonly IReadOnlyList<string> KnownProviders = ["cpu", "cuda", "tensorrt", "directml", "coreml"];
}

/// <summary>Creates one <see cref="InferenceSession"/> per component with the chosen execution provider.</summary>
public static class SessionFactory
{
    private static OrtLoggingLevel? _appliedLogLevel;

    /// <summary>
    /// The lowest severity ONNX Runtime's native logger writes to stderr (process-wide; applied when the next session options
    /// are created). ONNX Runtime's default is warnings; a command-line app that reports failures itself (ONNX Runtime's
    /// message travels in the exception) sets <see cref="OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL"/> so that one failure
    /// does not print twice.
    /// </summary>
    public static OrtLoggingLevel NativeLogLevel { get; set; } = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING;

    /// <summary>The NuGet package that carries each provider's native library.</summary>
    public static string PackageFor(string provider) => provider switch
    {
        "cuda" or "tensorrt" => "ONNX Runtime's GPU build (Microsoft.ML.OnnxRuntime.Gpu.Linux or .Gpu.Windows; turbogen: the TurboGen.Cli.Cuda tool) with the libraries it was built for: ONNX Runtime 1.32 needs CUDA 13 and cuDNN 9 (TensorRT 10 for tensorrt)",
        "directml" => "Microsoft.ML.OnnxRuntime.DirectML (Windows only; turbogen: the TurboGen.Cli.DirectML tool)",
        "coreml" => "Microsoft.ML.OnnxRuntime (the macOS/iOS build includes CoreML)",
        _ => "Microsoft.ML.OnnxRuntime",
    };

    public static SessionOptions CreateOptions(RuntimeOptions runtime)
    {
        string provider = runtime.Provider.Trim().ToLowerInvariant();
        if (!RuntimeOptions.KnownProviders.Contains(provider))
        {
            throw new InvalidRequestException("provider", $"Unknown execution provider '{runtime.Provider}'. Known: {string.Join(", ", RuntimeOptions.KnownProviders)}.");
        }
        ApplyNativeLogLevel();
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = runtime.Threads > 0 ? runtime.Threads : Hardware.PhysicalCores,
            InterOpNumThreads = 1,
            EnableMemoryPattern = true,
            EnableCpuMemArena = true,
        };
        if (!runtime.PrepackWeights) options.AddSessionConfigEntry("session.disable_prepacking", "1");
        try
        {
            switch (provider)
            {
                case "cuda": options.AppendExecutionProvider_CUDA(runtime.DeviceId); break;
                case "tensorrt": options.AppendExecutionProvider_Tensorrt(runtime.DeviceId); options.AppendExecutionProvider_CUDA(runtime.DeviceId); break;
                case "directml": options.AppendExecutionProvider_DML(runtime.DeviceId); break;
                case "coreml": options.AppendExecutionProvider_CoreML(); break;
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException or NotSupportedException or PlatformNotSupportedException)
        {
            options.Dispose();
            string reason = ProviderLibraries.LoadFailure(provider) is { } failure ? $"{e.Message.Trim()}; {failure}" : e.Message.Trim();
            throw new ExecutionProviderUnavailableException(provider,
                $"The '{provider}' execution provider is not available ({reason}). It needs {PackageFor(provider)}; or use --provider cpu.", e);
        }
        return options;
    }

    private static void ApplyNativeLogLevel()
    {
        var level = NativeLogLevel;
        if (_appliedLogLevel != level)
        {
            OrtEnv.Instance().EnvLogLevel = level;
            _appliedLogLevel = level;
        }
    }

    /// <summary>Creates a session from a model file (external data is resolved next to it).</summary>
    public static InferenceSession Create(string modelPath, RuntimeOptions runtime)
    {
        if (!File.Exists(modelPath))
        {
            throw new ModelLoadException(modelPath, $"ONNX model not found: {modelPath}");
        }
        try
        {
            if (runtime.SessionCacheDir is { } cacheDir && runtime.Provider.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase))
            {
                return OptimizedSessionCache.Create(cacheDir, modelPath, () => CreateOptions(runtime));
            }
            using var options = CreateOptions(runtime);
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException(modelPath, $"ONNX Runtime could not load {modelPath}: {e.Message.Trim()}", e);
        }
    }

    /// <summary>Creates a session from in-memory model bytes (weights inline).</summary>
    public static InferenceSession Create(byte[] model, RuntimeOptions runtime, string description)
    {
        using var options = CreateOptions(runtime);
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException(description, $"ONNX Runtime could not load {description}: {e.Message.Trim()}", e);
        }
    }
}

/// <summary>Machine facts used for defaults.</summary>
public static class Hardware
{
    private static readonly Lazy<int> Physical = new(CountPhysicalCores);

    /// <summary>Physical cores (SMT siblings counted once) where the OS tells; otherwise the logical processor count.</summary>
    public static int PhysicalCores => Physical.Value;

    private static int CountPhysicalCores()
    {
        try
        {
            if (OperatingSystem.IsLinux() && Directory.Exists("/sys/devices/system/cpu"))
            {
                var siblings = new HashSet<string>();
                foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
                {
                    string f = Path.Combine(dir, "topology", "thread_siblings_list");
                    if (File.Exists(f)) siblings.Add(File.ReadAllText(f).Trim());
                }
                if (siblings.Count > 0) return Math.Min(siblings.Count, Environment.ProcessorCount);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }
}

using Microsoft.ML.OnnxRuntime;

namespace TurboGen.Runtime;

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

    /// <summary>ONNX Runtime session options for <paramref name="runtime"/>: all graph optimizations, <see cref="RuntimeOptions.Threads"/>
    /// intra-op threads (0: physical cores), pre-packing as <see cref="RuntimeOptions.PrepackWeights"/> says, and the execution provider
    /// appended (TensorRT with CUDA as fallback). The caller disposes them.</summary>
    /// <exception cref="InvalidRequestException">"provider": not one of <see cref="RuntimeOptions.KnownProviders"/>.</exception>
    /// <exception cref="ExecutionProviderUnavailableException">The provider's native library cannot be loaded in this process.</exception>
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
            throw new ModelLoadException(modelPath, $"ONNX Runtime could not load {modelPath}{ExternalData(modelPath)}: {e.Message.Trim()}", e);
        }
    }

    /// <summary>" (external data: …/model.onnx_data, N bytes)" for the weights files next to a model, which a load error may be about.</summary>
    private static string ExternalData(string modelPath)
    {
        string dir = Path.GetDirectoryName(modelPath)!;
        var files = new[] { "model.onnx_data", "model.onnx.data", Path.GetFileName(modelPath) + "_data", Path.GetFileName(modelPath) + ".data" }
            .Distinct(StringComparer.Ordinal)
            .Select(name => new FileInfo(Path.Combine(dir, name)))
            .Where(f => f.Exists)
            .Select(f => $"{f.FullName}, {f.Length} bytes")
            .ToList();
        return files.Count == 0 ? "" : $" (external data: {string.Join("; ", files)})";
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

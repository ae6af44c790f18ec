using Microsoft.ML.OnnxRuntime;

namespace TurboGen.Runtime;

/// <summary>Creates one <see cref="InferenceSession"/> per component with the chosen execution provider.</summary>
public static class SessionFactory
{
    /// <summary>The NuGet package that carries each provider's native library.</summary>
    public static string PackageFor(string provider) => provider switch
    {
        "cuda" or "tensorrt" => "Microsoft.ML.OnnxRuntime.Gpu (Linux: Microsoft.ML.OnnxRuntime.Gpu.Linux) with CUDA 12 and cuDNN 9 installed",
        "directml" => "Microsoft.ML.OnnxRuntime.DirectML (Windows only)",
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
            throw new ExecutionProviderUnavailableException(provider,
                $"The '{provider}' execution provider is not available in this ONNX Runtime build ({e.Message.Trim()}). Install {PackageFor(provider)}, or use --provider cpu.", e);
        }
        return options;
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

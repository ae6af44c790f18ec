using Microsoft.ML.OnnxRuntime;
using TurboGen.Storage;

namespace TurboGen.Runtime;

/// <summary>
/// Caches ONNX Runtime's optimized form of a model so later loads skip graph optimization (weight pre-packing, where enabled, still happens at load).
/// <para>
/// How it works: the first CPU session of a model is created with <c>OptimizedModelFilePath</c> set, so ONNX Runtime
/// writes the graph it actually runs (fusions, NCHWc convolution layout, constant folding) with its weights in an external
/// folder appears through an atomic rename under <c>&lt;root&gt;/&lt;key&gt;/</c>, where the key hashes the model's path,
/// sizes and modification times, the ONNX Runtime version and this CPU's model name and feature flags (the NCHWc block size
/// and packed layouts are specific to them). Later sessions load that folder with graph optimizations off: the same kernels
/// run on the same bytes, so outputs are identical, and loading is several times faster. A cache entry that fails to load is
/// deleted and rebuilt. Only the CPU provider is cached.
/// </para>
/// </summary>
public static class OptimizedSessionCache
{
    private const string ModelFile = "model.onnx";
    private const string DataFile = "model.onnx_data";

    /// <summary>The cache folder for <paramref name="modelPath"/> under <paramref name="root"/> (whether or not it exists).</summary>
    public static string PathFor(string root, string modelPath) => Path.Combine(root, Key(modelPath));

    /// <summary>Creates the session from the cached optimized model, or creates it from <paramref name="modelPath"/> and fills the cache.</summary>
    internal static InferenceSession Create(string root, string modelPath, Func<SessionOptions> makeOptions)
    {
        string dir = PathFor(root, modelPath);
        string cached = Path.Combine(dir, ModelFile);
        if (File.Exists(cached))
        {
            using var options = makeOptions();
            options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
            try
            {
                return new InferenceSession(cached, options);
            }
            catch (OnnxRuntimeException)
            {
                AtomicDirectory.TryDelete(dir); // damaged or stale: rebuild below
            }
        }
        Directory.CreateDirectory(root);
        InferenceSession? session = null;
        try
        {
            AtomicDirectory.Create(dir, temp =>
            {
                using var options = makeOptions();
                options.OptimizedModelFilePath = Path.Combine(temp, ModelFile);
                options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR; // not the "hardware specific" warning: the key covers that
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", DataFile);
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                session = new InferenceSession(modelPath, options);
            });
        }
        catch (Exception e) when (session is null && e is IOException or UnauthorizedAccessException or OnnxRuntimeException)
        {
            // The cache could not be written (disk full, read-only): load without it (a broken model fails there too).
        }
        catch (Exception e) when (session is not null && e is IOException or UnauthorizedAccessException)
        {
            // The session exists; only the rename into the cache failed.
        }
        if (session is not null) return session;
        using var plain = makeOptions();
        return new InferenceSession(modelPath, plain);
    }

    private static string Key(string modelPath)
    {
        string full = Path.GetFullPath(modelPath);
        var parts = new List<string> { "turbogen optimized session v1", full, OrtEnv.Instance().GetVersionString(), CpuSignature() };
        foreach (string file in Directory.EnumerateFiles(Path.GetDirectoryName(full)!)
                     .Where(f => f == full || f.EndsWith(".onnx_data", StringComparison.Ordinal) || f.EndsWith(".onnx.data", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            parts.Add($"{info.Name} {info.Length} {info.LastWriteTimeUtc.Ticks}");
        }
        return FileContentId.HashText(string.Join("\n", parts))[..32];
    }

    /// <summary>This CPU's model name and feature flags (Linux /proc/cpuinfo), else the architecture and core count.</summary>
    private static string CpuSignature()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var lines = File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0)
                    .Where(l => l.StartsWith("model name", StringComparison.Ordinal) || l.StartsWith("flags", StringComparison.Ordinal));
                return string.Join("\n", lines);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} {Environment.ProcessorCount}";
    }
}

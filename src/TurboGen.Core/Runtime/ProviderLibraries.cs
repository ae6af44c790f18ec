using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TurboGen.Runtime;

/// <summary>
/// Why an execution provider that ONNX Runtime loads from a library of its own (CUDA, TensorRT: the
/// <c>onnxruntime_providers_*</c> libraries beside <c>onnxruntime</c>) could not be loaded. ONNX Runtime's exception only
/// says "Failed to load shared library"; the operating system's loader names the missing dependency (for example
/// <c>libcublasLt.so.13</c>), which is what a user needs to fix it.
/// </summary>
public static class ProviderLibraries
{
    /// <summary>The provider's own library file name, or null for providers built into onnxruntime (cpu, directml, coreml).</summary>
    public static string? FileName(string provider) => provider switch
    {
        "cuda" or "tensorrt" => OperatingSystem.IsWindows() ? $"onnxruntime_providers_{provider}.dll" : $"libonnxruntime_providers_{provider}.so",
        _ => null,
    };

    /// <summary>The folder of the onnxruntime library loaded in this process, or null when it is not loaded (or not found).</summary>
    public static string? OnnxRuntimeFolder()
    {
        string name = OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";
        using var process = Process.GetCurrentProcess();
        foreach (ProcessModule module in process.Modules)
        {
            if (string.Equals(Path.GetFileName(module.FileName), name, StringComparison.OrdinalIgnoreCase))
            {
                return Path.GetDirectoryName(module.FileName);
            }
        }
        return null;
    }

    /// <summary>
    /// The reason the provider's library cannot be loaded: "not in this build" when the file is absent, else the loader's
    /// own message (its last line, e.g. "libcublasLt.so.13: cannot open shared object file: No such file or directory").
    /// Null when the provider has no library of its own, onnxruntime is not loaded, or the library loads.
    /// </summary>
    public static string? LoadFailure(string provider)
    {
        if (FileName(provider) is not { } file || OnnxRuntimeFolder() is not { } folder)
        {
            return null;
        }
        string path = Path.Combine(folder, file);
        if (!File.Exists(path))
        {
            return $"{file} is not in this ONNX Runtime build";
        }
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e)
        {
            string reason = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? e.Message;
            return $"{file}: {reason}";
        }
        catch (BadImageFormatException e)
        {
            return $"{file}: {e.Message}";
        }
    }
}

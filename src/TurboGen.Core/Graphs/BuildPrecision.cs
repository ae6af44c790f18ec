namespace TurboGen.Graphs;

/// <summary>
/// The float precision a model is built in from a safetensors checkpoint. <see cref="Float32"/> is for the CPU execution
/// provider (it has few float16 kernels); <see cref="Float16"/> is for GPU providers (CUDA, TensorRT, DirectML, CoreML):
/// half-size weights and float16 activations, with float32 kept where the reference implementations keep it (see
/// <see cref="GraphBuilder.FloatType"/>). Both keep float32 graph inputs and outputs.
/// </summary>
public enum BuildPrecision
{
    /// <summary>float32 weights and activations (the CPU default).</summary>
    Float32,

    /// <summary>float16 weights and activations with float32 inputs, outputs and sensitive parts (GPU providers).</summary>
    Float16,
}

/// <summary>Helpers for <see cref="BuildPrecision"/>.</summary>
public static class BuildPrecisions
{
    /// <summary>The execution providers that get <see cref="BuildPrecision.Float16"/> models by default.</summary>
    public static readonly IReadOnlyList<string> Float16Providers = ["cuda", "tensorrt", "directml", "coreml"];

    /// <summary>The element type of the activations and weights of a graph built in <paramref name="precision"/>.</summary>
    public static ElementType FloatType(this BuildPrecision precision) => precision switch
    {
        BuildPrecision.Float32 => ElementType.Float,
        BuildPrecision.Float16 => ElementType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>"fp32" or "fp16" (build-info files, cache folder names, CLI values).</summary>
    public static string ShortName(this BuildPrecision precision) => precision switch
    {
        BuildPrecision.Float32 => "fp32",
        BuildPrecision.Float16 => "fp16",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>
    /// The precision to build for an execution provider: float16 for the GPU providers (<see cref="Float16Providers"/>),
    /// float32 for "cpu". Throws <see cref="InvalidRequestException"/> for an unknown provider name.
    /// </summary>
    public static BuildPrecision ForProvider(string provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        string name = provider.Trim().ToLowerInvariant();
        if (name == "cpu") return BuildPrecision.Float32;
        if (Float16Providers.Contains(name)) return BuildPrecision.Float16;
        throw new InvalidRequestException("provider",
            $"Unknown execution provider '{provider}'. Known: cpu, {string.Join(", ", Float16Providers)}.");
    }

    /// <summary>Parses "fp32"/"float32" or "fp16"/"float16" (case-insensitive); throws <see cref="InvalidRequestException"/> otherwise.</summary>
    public static BuildPrecision Parse(string text, string parameter = "precision")
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "fp32" or "float32" => BuildPrecision.Float32,
            "fp16" or "float16" => BuildPrecision.Float16,
            _ => throw new InvalidRequestException(parameter, $"Unknown precision '{text}'; use fp32 or fp16."),
        };
    }
}

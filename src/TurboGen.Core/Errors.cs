namespace TurboGen;

/// <summary>Base class of every error the engine reports on purpose. Callers (CLI, server) map it to a message and exit code / HTTP status.</summary>
public class TurboGenException : Exception
{
    /// <summary>Creates the error with the message shown to the user (CLI stderr, the server's JSON body).</summary>
    /// <param name="message">What went wrong and, where possible, what to do about it.</param>
    /// <param name="inner">The lower-level exception that caused it, if any.</param>
    public TurboGenException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A request parameter is out of range or malformed. <see cref="Parameter"/> names the offending field.</summary>
public sealed class InvalidRequestException(string parameter, string message) : TurboGenException(message)
{
    /// <summary>The request field or option at fault, as the caller spells it (e.g. "steps", "width", "HF_ENDPOINT").</summary>
    public string Parameter { get; } = parameter;
}

/// <summary>A model folder, file or checkpoint is missing or unusable. <see cref="Path"/> names what was looked at.</summary>
public class ModelLoadException(string path, string message, Exception? inner = null) : TurboGenException(message, inner)
{
    /// <summary>The model folder, file or checkpoint that was being loaded (an error message names it too).</summary>
    public string Path { get; } = path;
}

/// <summary>An ONNX model's inputs/outputs match none of the known contracts (Optimum, Olive/onnxruntime).</summary>
public sealed class ModelContractException(string path, string message) : ModelLoadException(path, message);

/// <summary>The requested execution provider's native library is not available in this process.</summary>
public sealed class ExecutionProviderUnavailableException(string provider, string message, Exception? inner = null)
    : TurboGenException(message, inner)
{
    /// <summary>The execution provider that was asked for ("cuda", "tensorrt", "directml", "coreml").</summary>
    public string Provider { get; } = provider;
}

/// <summary>A model produced NaN/Inf values (typically an fp16 SDXL VAE that is not the fp16-fix).</summary>
public sealed class NumericalException(string stage, string message) : TurboGenException(message)
{
    /// <summary>The pipeline stage whose output held NaN/Inf: "unet" or "decode" (the VAE decoder).</summary>
    public string Stage { get; } = stage;
}

/// <summary>An input image could not be read or decoded.</summary>
public sealed class ImageDecodeException(string message, Exception? inner = null) : TurboGenException(message, inner);

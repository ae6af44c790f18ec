using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// The networks of a published checkpoint, ready for the graph builder: each component's diffusers/transformers
/// config (JSON text) and its weights under diffusers/transformers key names. Produced from a diffusers folder
/// (<c>model_index.json</c> + per-component safetensors) or from a single-file checkpoint through a key-renaming
/// view; consumed by the model builder, which writes an Optimum-layout ONNX folder.
/// </summary>
public sealed record CheckpointComponents : IDisposable
{
    public required ModelFamily Family { get; init; }
    public required string UnetConfigJson { get; init; }
    public required ICheckpointTensors Unet { get; init; }
    public required string TextEncoderConfigJson { get; init; }
    public required ICheckpointTensors TextEncoder { get; init; }
    public string? TextEncoder2ConfigJson { get; init; }
    public ICheckpointTensors? TextEncoder2 { get; init; }
    public required string VaeConfigJson { get; init; }
    public required ICheckpointTensors Vae { get; init; }
    public required string SchedulerConfigJson { get; init; }

    /// <summary>The pipeline's <c>model_index.json</c> text when the source has one (diffusers repos); the builder writes a minimal one otherwise.</summary>
    public string? ModelIndexJson { get; init; }

    /// <summary>HF tokenizer folders when the source has them (diffusers repos); null for single-file checkpoints (standard CLIP files are used).</summary>
    public string? TokenizerDir { get; init; }
    public string? Tokenizer2Dir { get; init; }

    /// <summary>Identifies the weights' content (used to key the built-model cache).</summary>
    public required string ContentHash { get; init; }

    /// <summary>Where the components came from (for messages).</summary>
    public required string Source { get; init; }

    /// <summary>Objects to dispose with this (open safetensors files).</summary>
    public IReadOnlyList<IDisposable> Owned { get; init; } = [];

    public void Dispose()
    {
        foreach (var d in Owned) d.Dispose();
    }
}

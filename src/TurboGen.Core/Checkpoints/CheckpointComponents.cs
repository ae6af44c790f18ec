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
    /// <summary>SDXL (two text encoders) or SD 2.x (one); decides which of the optional members are set.</summary>
    public required ModelFamily Family { get; init; }

    /// <summary>The UNet's diffusers <c>unet/config.json</c> text.</summary>
    public required string UnetConfigJson { get; init; }

    /// <summary>The UNet weights under diffusers names (<c>down_blocks.0.resnets.0.conv1.weight</c>, …).</summary>
    public required ICheckpointTensors Unet { get; init; }

    /// <summary>The first text encoder's transformers <c>text_encoder/config.json</c> text (CLIP-L for SDXL, OpenCLIP-H for SD 2.x).</summary>
    public required string TextEncoderConfigJson { get; init; }

    /// <summary>The first text encoder's weights under transformers names (<c>text_model.encoder.layers.0.…</c>).</summary>
    public required ICheckpointTensors TextEncoder { get; init; }

    /// <summary>SDXL only: the second text encoder's (OpenCLIP-bigG with projection) <c>text_encoder_2/config.json</c> text; null for SD 2.x.</summary>
    public string? TextEncoder2ConfigJson { get; init; }

    /// <summary>SDXL only: the second text encoder's weights under transformers names; null for SD 2.x.</summary>
    public ICheckpointTensors? TextEncoder2 { get; init; }

    /// <summary>The VAE's diffusers <c>vae/config.json</c> text.</summary>
    public required string VaeConfigJson { get; init; }

    /// <summary>The VAE (encoder and decoder) weights under diffusers names.</summary>
    public required ICheckpointTensors Vae { get; init; }

    /// <summary>The <c>scheduler/scheduler_config.json</c> text copied into the built model folder.</summary>
    public required string SchedulerConfigJson { get; init; }

    /// <summary>The pipeline's <c>model_index.json</c> text when the source has one (diffusers repos); the builder writes a minimal one otherwise.</summary>
    public string? ModelIndexJson { get; init; }

    /// <summary>HF tokenizer folders when the source has them (diffusers repos); null for single-file checkpoints (standard CLIP files are used).</summary>
    public string? TokenizerDir { get; init; }

    /// <summary>SDXL only: the second tokenizer's folder (<c>tokenizer_2/</c>) when the source has it; null otherwise.</summary>
    public string? Tokenizer2Dir { get; init; }

    /// <summary>
    /// A diffusers AutoencoderTiny folder shipped with the model (SDXS's <c>vae/</c>, whose KL VAE is then <c>vae_large/</c>), built
    /// into the model's <c>taesd/</c>; null when there is none.
    /// </summary>
    public string? TinyVaeDir { get; init; }

    /// <summary>Identifies the weights' content (used to key the built-model cache).</summary>
    public required string ContentHash { get; init; }

    /// <summary>Where the components came from (for messages).</summary>
    public required string Source { get; init; }

    /// <summary>Objects to dispose with this (open safetensors files).</summary>
    public IReadOnlyList<IDisposable> Owned { get; init; } = [];

    /// <summary>Disposes <see cref="Owned"/> (closes the memory-mapped weight files); the tensors must not be read afterwards.</summary>
    public void Dispose()
    {
        foreach (var d in Owned) d.Dispose();
    }
}

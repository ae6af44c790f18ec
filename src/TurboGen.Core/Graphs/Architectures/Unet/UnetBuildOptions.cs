namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>How the built UNet declares its <c>timestep</c> input (the variants of the Optimum exports, MODEL-CONTRACT §2.2).</summary>
public enum TimestepInput
{
    /// <summary>Rank-0 float32 scalar (Optimum ≥ 1.24): one timestep for the whole batch.</summary>
    ScalarFloat,

    /// <summary>Rank-1 float32 [steps]: one timestep per batch item, or [1] broadcast to the batch.</summary>
    VectorFloat,

    /// <summary>Rank-1 int64 [steps] (Optimum &lt; 1.24): one timestep per batch item, or [1] broadcast to the batch.</summary>
    VectorInt64,
}

/// <summary>Build options of <see cref="Unet2DConditionModel.Build"/>.</summary>
public sealed record UnetBuildOptions
{
    /// <summary>The <c>timestep</c> input variant; default rank-0 float (current Optimum).</summary>
    public TimestepInput Timestep { get; init; } = TimestepInput.ScalarFloat;

    /// <summary>
    /// Number of SDXL micro-conditioning values in <c>time_ids</c> (6 for SDXL/SDXL-Turbo: original size, crop, target size).
    /// The <c>text_embeds</c> width is <c>projection_class_embeddings_input_dim − TimeIdCount · addition_time_embed_dim</c>.
    /// </summary>
    public int TimeIdCount { get; init; } = 6;

    /// <summary>Fixed text sequence length of <c>encoder_hidden_states</c>, or null for a dynamic "sequence_length" axis (as Optimum).</summary>
    public int? SequenceLength { get; init; }

    /// <summary>When false (default), checkpoint tensors the architecture does not use make the build fail.</summary>
    public bool AllowUnusedKeys { get; init; }

    /// <summary>Weights and activations in float32 (default) or float16; inputs and output are float32 either way.</summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;

    /// <summary>The ONNX graph name.</summary>
    public string GraphName { get; init; } = "unet";

    /// <summary>
    /// Adds the ControlNet residual inputs <c>down_block_additional_residual_i</c> (one per skip connection, added to it before
    /// the up blocks) and <c>mid_block_additional_residual</c> (added to the mid block's output), as diffusers'
    /// <c>down_block_additional_residuals</c> / <c>mid_block_additional_residual</c>. Off by default (the Optimum I/O).
    /// </summary>
    public bool ControlNetResiduals { get; init; }

    /// <summary>Operator forms for attention and Linear layers (default: plain ONNX).</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;
}

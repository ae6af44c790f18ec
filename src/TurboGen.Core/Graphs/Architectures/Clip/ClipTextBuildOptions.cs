namespace TurboGen.Graphs.Architectures.Clip;

/// <summary>How <see cref="ClipTextModel.Build"/> shapes the graph.</summary>
public sealed record ClipTextBuildOptions
{
    /// <summary>Build CLIPTextModelWithProjection (outputs <c>text_embeds</c>); null: as config.json's architecture says.</summary>
    public bool? WithProjection { get; init; }

    /// <summary>Add the outputs <c>hidden_states.0</c> … <c>hidden_states.L</c> (Optimum does this for the SDXL encoders).</summary>
    public bool OutputHiddenStates { get; init; }

    /// <summary>Element type of <c>input_ids</c>: Int64 (Optimum) or Int32 (Olive's SDXL text_encoder, the ORT demo).</summary>
    public ElementType InputIdsType { get; init; } = ElementType.Int64;

    /// <summary>Prefix of every checkpoint key ("" for diffusers/transformers files; e.g. "conditioner.embedders.0.transformer." inside a single-file SDXL checkpoint).</summary>
    public string KeyPrefix { get; init; } = "";

    /// <summary>Do not fail when keys under <see cref="KeyPrefix"/> are left unread (e.g. building CLIPTextModel from a checkpoint with a projection).</summary>
    public bool AllowUnusedKeys { get; init; }

    /// <summary>Weights and activations in float32 (default) or float16; outputs are float32 either way.</summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;

    /// <summary>Operator forms for Linear layers (default: plain ONNX; the causal attention stays plain).</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;
}

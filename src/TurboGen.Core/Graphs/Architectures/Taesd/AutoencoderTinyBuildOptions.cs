namespace TurboGen.Graphs.Architectures.Taesd;

/// <summary>How <see cref="AutoencoderTiny.BuildDecoder"/> and <see cref="AutoencoderTiny.BuildEncoder"/> shape the graph.</summary>
public sealed record AutoencoderTinyBuildOptions
{
    /// <summary>
    /// Image range of the decoder output and the encoder input: true (default) = diffusers convention, nominally [-1, 1]
    /// (mapped inside the graph); false = taesd.py convention, nominally [0, 1].
    /// </summary>
    public bool ImageMinusOneToOne { get; init; } = true;

    /// <summary>Weights and activations in float32 (default) or float16; inputs and outputs are float32 either way.</summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;
}

namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>Which output a built VAE encoder graph has (MODEL-CONTRACT §2.1 / §5.2).</summary>
public enum VaeEncoderOutput
{
    /// <summary>Optimum ≥ 1.23: <c>latent_parameters</c> [B, 2·latent, H/8, W/8] = mean ‖ logvar (unclamped); the pipeline clamps, exponentiates and samples.</summary>
    LatentParameters,

    /// <summary>
    /// The older contract's <c>latent_sample</c> [B, latent, H/8, W/8], filled with the distribution MEAN (the first half of the
    /// channels). Unlike old Optimum/Olive exports nothing is sampled inside the graph, so the output is deterministic.
    /// </summary>
    LatentMean,
}

/// <summary>How <see cref="AutoencoderKl.BuildDecoder"/> and <see cref="AutoencoderKl.BuildEncoder"/> shape the graph.</summary>
public sealed record AutoencoderKlBuildOptions
{
    /// <summary>Weights and activations in float32 (default) or float16; inputs and outputs are float32 either way.</summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;

    /// <summary>Operator forms: only <see cref="GraphKernels.FusedAttention"/> applies (the VAE keeps float Linear layers, no int8).</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;

    /// <summary>The encoder's output (ignored by the decoder).</summary>
    public VaeEncoderOutput EncoderOutput { get; init; } = VaeEncoderOutput.LatentParameters;

    /// <summary>The kernels the VAE really uses: fused attention if asked, never int8.</summary>
    internal GraphKernels VaeKernels => Kernels.FusedAttention ? GraphKernels.Fused : GraphKernels.Standard;
}

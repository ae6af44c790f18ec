namespace TurboGen.Graphs.Architectures;

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

/// <summary>The half of an autoencoder checkpoint a graph is built from.</summary>
public enum AutoencoderPart
{
    Encoder,
    Decoder,
}

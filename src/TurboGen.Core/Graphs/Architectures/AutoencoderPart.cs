namespace TurboGen.Graphs.Architectures;

/// <summary>The half of an autoencoder checkpoint a graph is built from (the KL VAE and the tiny autoencoder).</summary>
public enum AutoencoderPart
{
    /// <summary>The encoder: image [B,3,H,W] → latent (the <c>encoder.*</c> and, for the KL VAE, <c>quant_conv</c> weights).</summary>
    Encoder,

    /// <summary>The decoder: latent [B,4,h,w] → image (the <c>decoder.*</c> and, for the KL VAE, <c>post_quant_conv</c> weights).</summary>
    Decoder,
}

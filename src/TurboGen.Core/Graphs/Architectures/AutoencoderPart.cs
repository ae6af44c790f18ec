namespace TurboGen.Graphs.Architectures;

/// <summary>The half of an autoencoder checkpoint a graph is built from (the KL VAE and the tiny autoencoder).</summary>
public enum AutoencoderPart
{
    Encoder,
    Decoder,
}

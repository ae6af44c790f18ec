namespace TurboGen.Imaging;

/// <summary>Value range of an image tensor: [-1, 1] (diffusers VAE convention) or [0, 1] (original TAESD).</summary>
public enum ImageRange
{
    MinusOneToOne,
    ZeroToOne,
}

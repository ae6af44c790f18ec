namespace TurboGen.Imaging;

/// <summary>Value range of an image tensor: [-1, 1] (diffusers VAE convention) or [0, 1] (original TAESD).</summary>
public enum ImageRange
{
    /// <summary>[-1, 1]: 0 ↔ −1 and 255 ↔ 1 (diffusers' VAE and AutoencoderTiny).</summary>
    MinusOneToOne,

    /// <summary>[0, 1]: 0 ↔ 0 and 255 ↔ 1 (the original TAESD exports).</summary>
    ZeroToOne,
}

using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// The VAE encoder an init image goes through, with the scale of its latents: the tiny VAE's (TAESD) when the request decodes
/// with the tiny VAE (<see cref="GenerationRequest.UseTinyVae"/>) and the tiny VAE folder has an encoder — a small fraction of
/// the full encoder's cost, which dominates a live camera frame on a CPU — else the model's. TAESD latents are already in the
/// UNet's scale (scaling factor 1, as diffusers' AutoencoderTiny); the full VAE's are multiplied by its <c>scaling_factor</c>.
/// </summary>
/// <param name="Encoder">The encoder component.</param>
/// <param name="ScalingFactor">What its latents are multiplied by.</param>
/// <param name="Range">The pixel range it takes.</param>
/// <param name="Stage">Its timing stage: <c>vae_encode</c> or <c>tiny_vae_encode</c>.</param>
internal sealed record LatentEncoder(VaeEncoder Encoder, float ScalingFactor, ImageRange Range, string Stage)
{
    /// <summary>The encoder for <paramref name="request"/>; <paramref name="purpose"/> ("Image-to-image", "Inpainting") names the need when the model has none.</summary>
    public static LatentEncoder For(TurboModel model, GenerationRequest request, string purpose)
    {
        if (request.UseTinyVae && model.TinyVaeEncoder is { } tiny)
        {
            return new LatentEncoder(tiny, 1f, model.TinyVaeRange, "tiny_vae_encode");
        }
        var encoder = model.VaeEncoder ?? throw new ModelLoadException(model.Path,
            $"{purpose} needs a VAE encoder: {Path.Combine(model.Path, "vae_encoder", "model.onnx")} is missing.");
        return new LatentEncoder(encoder, model.ScalingFactor, ImageRange.MinusOneToOne, "vae_encode");
    }

    /// <summary>Encodes one image given as [-1,1] pixels [1,3,H,W] (converted in place to the encoder's range).</summary>
    public Timed<VaeEncoding> Encode(float[] pixels, int height, int width, CancellationToken cancellationToken)
    {
        if (Range == ImageRange.ZeroToOne)
        {
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (pixels[i] + 1f) * 0.5f;
        }
        return Encoder.Encode(new FloatTensor(pixels, [1, 3, height, width]), cancellationToken);
    }
}

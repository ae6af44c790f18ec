using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// The inpainting fields of <c>/sdapi/v1/img2img</c> as AUTOMATIC1111 reads them: <c>mask</c> (base64; its alpha channel when it
/// has transparency — opaque repaints — else its luminance, white repaints; with <c>mask_round</c> binarised at &gt; 128),
/// <c>inpainting_mask_invert</c>, <c>mask_blur</c> (or the larger of <c>mask_blur_x</c>/<c>_y</c>), <c>inpainting_fill</c>
/// (0 fill, 1 original, 2 latent noise, 3 latent nothing), <c>inpaint_full_res</c> and <c>inpaint_full_res_padding</c>.
/// </summary>
public static class A1111Inpainting
{
    /// <summary>The mask of <paramref name="request"/>, or null without one; fields TurboGen cannot honour go to <paramref name="ignored"/>.</summary>
    /// <exception cref="InvalidRequestException">An undecodable mask or a bad field, naming it.</exception>
    public static InpaintMask? Map(A1111Img2ImgRequest request, IDictionary<string, string> ignored)
    {
        if (!string.IsNullOrEmpty(request.LatentMask)) ignored["latent_mask"] = "a separate latent mask is not available; the mask is used";
        if (string.IsNullOrEmpty(request.Mask)) return null;
        byte[] bytes = InputImages.Base64Bytes("mask", request.Mask);
        var image = InputImages.FromBytes("mask", bytes);
        var (alpha, _, _) = InputImages.AlphaFromBytes("mask", bytes);
        byte[] values = alpha.Any(a => a != 255) ? alpha : MaskOps.Luminance(image);
        if (request.MaskRound) values = values.Select(v => v > 128 ? (byte)255 : (byte)0).ToArray();

        int blur = request.MaskBlur ?? Math.Max(request.MaskBlurX, request.MaskBlurY);
        if (request.MaskBlur is null && request.MaskBlurX != request.MaskBlurY)
        {
            ignored["mask_blur_x"] = $"one blur for both axes: mask_blur_x {request.MaskBlurX} and mask_blur_y {request.MaskBlurY} became {blur}";
        }
        if (request.InpaintingMaskInvert is not (0 or 1))
        {
            throw new InvalidRequestException("inpainting_mask_invert", $"inpainting_mask_invert must be 0 or 1 (got {request.InpaintingMaskInvert}).");
        }
        if (request.InpaintingFill is < 0 or > 3)
        {
            throw new InvalidRequestException("inpainting_fill", $"inpainting_fill must be 0 (fill), 1 (original), 2 (latent noise) or 3 (latent nothing) (got {request.InpaintingFill}).");
        }
        return new InpaintMask(image.Width, image.Height, values)
        {
            Invert = request.InpaintingMaskInvert == 1,
            Blur = blur,
            Fill = (InpaintFill)request.InpaintingFill,
            FullResolution = request.InpaintFullRes,
            Padding = request.InpaintFullResPadding,
        };
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Imaging;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;
using TurboGen.Upscaling;

namespace TurboGen.Server.Api.A1111;

/// <summary><c>POST /sdapi/v1/extra-single-image</c> body (A1111's <c>ExtrasSingleImageRequest</c>).</summary>
public sealed class A1111ExtrasSingleImageRequest
{
    [JsonPropertyName("image")] public string? Image { get; set; } = "";
    [JsonPropertyName("resize_mode")] public int ResizeMode { get; set; }
    [JsonPropertyName("show_extras_results")] public bool ShowExtrasResults { get; set; } = true;
    [JsonPropertyName("gfpgan_visibility")] public float GfpganVisibility { get; set; }
    [JsonPropertyName("codeformer_visibility")] public float CodeformerVisibility { get; set; }
    [JsonPropertyName("codeformer_weight")] public float CodeformerWeight { get; set; }
    [JsonPropertyName("upscaling_resize")] public float UpscalingResize { get; set; } = 2;
    [JsonPropertyName("upscaling_resize_w")] public int UpscalingResizeW { get; set; } = 512;
    [JsonPropertyName("upscaling_resize_h")] public int UpscalingResizeH { get; set; } = 512;
    [JsonPropertyName("upscaling_crop")] public bool UpscalingCrop { get; set; } = true;
    [JsonPropertyName("upscaler_1")] public string? Upscaler1 { get; set; } = "None";
    [JsonPropertyName("upscaler_2")] public string? Upscaler2 { get; set; } = "None";
    [JsonPropertyName("extras_upscaler_2_visibility")] public float ExtrasUpscaler2Visibility { get; set; }
    [JsonPropertyName("upscale_first")] public bool UpscaleFirst { get; set; }
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>The extra-single-image answer: the PNG (base64) and A1111's html_info text.</summary>
public sealed record A1111ExtrasResponse(
    [property: JsonPropertyName("html_info")] string HtmlInfo,
    [property: JsonPropertyName("image")] string Image);

/// <summary>One entry of <c>GET /sdapi/v1/upscalers</c> (A1111's <c>UpscalerItem</c>; no server paths are disclosed).</summary>
public sealed record A1111Upscaler(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("model_name")] string? ModelName,
    [property: JsonPropertyName("model_path")] string? ModelPath,
    [property: JsonPropertyName("model_url")] string? ModelUrl,
    [property: JsonPropertyName("scale")] float? Scale);

/// <summary>The hires-fix part of a txt2img plan: the upscaler, the second pass's size and its options.</summary>
public sealed record A1111Hires(IUpscaler Upscaler, int Width, int Height, HiresOptions Options);

/// <summary>
/// A1111's upscaling endpoints (<c>/upscalers</c>, <c>/extra-single-image</c>) and the txt2img hires-fix mapping. Upscaling
/// runs on the model worker like a generation (one heavy job at a time), sizes checked by <see cref="UpscaleLimits"/>.
/// </summary>
public static class A1111Upscaling
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/upscalers", (ModelHost host) => Results.Json(List(host.Upscalers), A1111Json.Options))
            .WithSummary("Upscalers: None and Lanczos (resampling) and the ESRGAN-family models loaded with serve --upscaler.")
            .Produces<A1111Upscaler[]>();
        api.MapPost("/extra-single-image", ExtraSingleImageAsync)
            .WithSummary("Upscale one image (A1111 /sdapi/v1/extra-single-image): upscaler_1 by upscaling_resize, or to upscaling_resize_w × _h.")
            .Accepts<A1111ExtrasSingleImageRequest>("application/json").Produces<A1111ExtrasResponse>().Produces<A1111Error>(422);
    }

    public static A1111Upscaler[] List(UpscalerSet set) =>
        [new(UpscalerSet.NoneName, null, null, null, null), .. set.All.Select(u => new A1111Upscaler(u.Name, u.NativeScale is null ? null : u.Name, null, null, u.NativeScale ?? 4))];

    private static async Task<IResult> ExtraSingleImageAsync(HttpContext http, ModelHost host, CancellationToken ct)
    {
        var service = ApiRequests.RequireService(host);
        var r = await ApiRequests.ReadJsonAsync<A1111ExtrasSingleImageRequest>(http.Request, A1111Json.Options, ct).ConfigureAwait(false);
        if (r.GfpganVisibility > 0) throw new InvalidRequestException("gfpgan_visibility", "face restoration (GFPGAN) is not available; send 0.");
        if (r.CodeformerVisibility > 0) throw new InvalidRequestException("codeformer_visibility", "face restoration (CodeFormer) is not available; send 0.");
        if (r.ExtrasUpscaler2Visibility > 0 && !string.Equals(r.Upscaler2?.Trim(), UpscalerSet.NoneName, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidRequestException("upscaler_2", "a second upscaler blended in is not available; send upscaler_2 \"None\" or extras_upscaler_2_visibility 0.");
        }
        var upscaler = host.Upscalers.Resolve(string.IsNullOrWhiteSpace(r.Upscaler1) ? UpscalerSet.NoneName : r.Upscaler1, "upscaler_1");
        var image = InputImages.FromBase64("image", r.Image);
        UpscaleLimits.CheckInput(image.Width, image.Height, "image");
        int width, height;
        bool stretch = false;
        switch (r.ResizeMode)
        {
            case 0:
                (width, height) = UpscaleLimits.Target(image.Width, image.Height, r.UpscalingResize, "image", "upscaling_resize");
                break;
            case 1:
                (width, height) = UpscaleLimits.CheckOutput(r.UpscalingResizeW, r.UpscalingResizeH, "upscaling_resize_w");
                stretch = !r.UpscalingCrop;
                break;
            default:
                throw new InvalidRequestException("resize_mode", $"resize_mode is 0 (scale by upscaling_resize) or 1 (to upscaling_resize_w × upscaling_resize_h) (got {r.ResizeMode}).");
        }
        var (coverWidth, coverHeight) = (width, height);
        if (stretch)
        {
            // Enlarge keeping the aspect ratio to cover the target, then resize (not crop) to it, as A1111 without upscaling_crop.
            double s = Math.Max((double)width / image.Width, (double)height / image.Height);
            (coverWidth, coverHeight) = UpscaleLimits.CheckOutput((int)Math.Round(image.Width * s), (int)Math.Round(image.Height * s), "upscaling_resize_w");
        }
        var job = service.SubmitUpscale(ApiRequests.SessionKey(http, "a1111"), image, upscaler, coverWidth, coverHeight, ct);
        var result = await job.Result.ConfigureAwait(false);
        if (result.Width != width || result.Height != height) result = LanczosResampler.Resize(result, width, height);
        string info = string.Create(CultureInfo.InvariantCulture, $"Postprocess upscaling: {(double)width / image.Width:0.###}, Postprocess upscaler: {upscaler.Name}");
        var png = ImageCodec.EncodePng(result, new ImageMetadata(info, UpscaleMetadata.ToJson(new UpscaleRecord(upscaler.Name, width, height, image.Width, image.Height, Refined: false))));
        return Results.Json(new A1111ExtrasResponse($"<p>{System.Net.WebUtility.HtmlEncode(info)}</p>", Convert.ToBase64String(png)), A1111Json.Options);
    }

    /// <summary>
    /// The hires fix of a txt2img request, or null when <c>enable_hr</c> is false: the size from hr_resize_x/y (one of them 0:
    /// the other keeps the aspect ratio) or width/height × hr_scale, rounded to multiples of 8; the upscaler by hr_upscaler
    /// (empty: the server's default; A1111's "Latent…" upscalers, its default, also take the server's default and are reported); the second pass with hr_second_pass_steps (0: the first pass's steps), denoising_strength
    /// (default 0.3, the turbo models' refine strength) and hr_prompt / hr_negative_prompt (empty: the first pass's).
    /// </summary>
    public static A1111Hires? MapHires(A1111Txt2ImgRequest r, int width, int height, string prompt, string negative, UpscalerSet upscalers,
        IDictionary<string, string> ignored)
    {
        if (!r.EnableHr) return null;
        if (r.HrResizeX < 0) throw new InvalidRequestException("hr_resize_x", $"hr_resize_x must be ≥ 0 (got {r.HrResizeX}).");
        if (r.HrResizeY < 0) throw new InvalidRequestException("hr_resize_y", $"hr_resize_y must be ≥ 0 (got {r.HrResizeY}).");
        int w, h;
        string field;
        if (r.HrResizeX == 0 && r.HrResizeY == 0)
        {
            if (!float.IsFinite(r.HrScale) || r.HrScale < 1 || r.HrScale > UpscaleLimits.MaxScale)
                throw new InvalidRequestException("hr_scale", $"hr_scale must be between 1 and {UpscaleLimits.MaxScale} (got {r.HrScale.ToString(CultureInfo.InvariantCulture)}).");
            (w, h, field) = ((int)Math.Round(width * r.HrScale), (int)Math.Round(height * r.HrScale), "hr_scale");
        }
        else
        {
            w = r.HrResizeX > 0 ? r.HrResizeX : (int)Math.Round((double)r.HrResizeY * width / height);
            h = r.HrResizeY > 0 ? r.HrResizeY : (int)Math.Round((double)r.HrResizeX * height / width);
            field = r.HrResizeX > 0 ? "hr_resize_x" : "hr_resize_y";
        }
        (w, h) = HiresRefine.RefineSize(w, h);
        if (w > HiresRefine.MaxSide || h > HiresRefine.MaxSide)
        {
            throw new InvalidRequestException(field, $"the hires size {w}x{h} is too large; the second pass is at most {HiresRefine.MaxSide}x{HiresRefine.MaxSide}.");
        }
        if (r.HrSecondPassSteps < 0) throw new InvalidRequestException("hr_second_pass_steps", $"hr_second_pass_steps must be ≥ 0 (got {r.HrSecondPassSteps}).");
        IUpscaler upscaler;
        if (r.HrUpscaler is { } requested && requested.Trim().StartsWith("Latent", StringComparison.OrdinalIgnoreCase))
        {
            // A1111's default hires upscaler enlarges the latents; TurboGen upscales pixels, so clients that send the default keep working.
            upscaler = upscalers.Default;
            ignored["hr_upscaler"] = $"'{requested.Trim()}' upscales latents, which TurboGen does not; the first pass was upscaled with {upscaler.Name}";
        }
        else
        {
            upscaler = upscalers.Resolve(r.HrUpscaler, "hr_upscaler");
        }
        if (!string.IsNullOrWhiteSpace(r.HrCheckpointName)) ignored["hr_checkpoint_name"] = "the second pass runs the loaded model";
        if (!string.IsNullOrWhiteSpace(r.HrSamplerName)) ignored["hr_sampler_name"] = "the second pass runs the model's own sampler";
        var options = new HiresOptions
        {
            Prompt = string.IsNullOrEmpty(r.HrPrompt) ? prompt : r.HrPrompt,
            NegativePrompt = string.IsNullOrEmpty(r.HrNegativePrompt) ? negative : r.HrNegativePrompt,
            Steps = r.HrSecondPassSteps > 0 ? r.HrSecondPassSteps : r.Steps,
            Strength = r.DenoisingStrength ?? 0.3f,
            GuidanceScale = r.CfgScale,
        };
        options.Validate();
        return new A1111Hires(upscaler, w, h, options);
    }
}

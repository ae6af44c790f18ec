using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api.Native;

/// <summary>
/// TurboGen's own API: <c>POST /api/generate</c> exposes every engine option (txt2img, img2img, ControlNets (<see cref="NativeControls"/>), n variants with
/// consecutive seeds, style, tiny VAE, steps, guidance, negative prompt, output format) and returns seeds, the
/// truncation flag and per-stage timings; <c>POST /api/upscale</c> and <c>GET /api/upscalers</c> (<see cref="NativeUpscaleApi"/>);
/// <c>GET /api/info</c> describes the server, model and limits.
/// Errors use the OpenAI error object.
/// </summary>
public static class NativeApi
{
    public static readonly IReadOnlyList<string> ApiNames = ["native", "openai", "a1111"];

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").AddEndpointFilter(new ApiGuard(OpenAiErrorFormat.Instance)).WithMetadata(OpenAiErrorFormat.Instance).WithTags("TurboGen");
        api.MapPost("/generate", GenerateAsync)
            .WithSummary("Generate images with every TurboGen option; returns seeds and per-stage timings.")
            .Accepts<NativeGenerateRequest>("application/json")
            .Produces<NativeGenerateResponse>()
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(429).Produces<OpenAiErrorEnvelope>(503);
        NativeUpscaleApi.Map(api);
        api.MapGet("/info", (ModelHost host, ServerOptions options, StylePresets styles) =>
            {
                var service = host.Service;
                var m = service?.Model;
                var model = m is null ? null : new NativeModelInfo(m.Id, m.Family.ToString().ToLowerInvariant(), m.DefaultSize, m.Sampler, m.HasTinyVae, m.HasVaeEncoder)
                {
                    ControlNets = host.ControlNets.All.Where(c => c.Unusable is null).Select(c => c.Name).ToList(),
                };
                var limits = new NativeLimits(RequestLimits.MaxBodyBytes, RequestLimits.MaxImagesPerRequest, RequestLimits.MinSide, RequestLimits.MaxSide,
                    RequestLimits.SideMultiple, RequestLimits.MaxSteps, RequestLimits.MaxPromptChars, RequestLimits.MaxInputPixels, RequestLimits.MaxInputSide);
                var info = new NativeInfo("TurboGen", typeof(NativeApi).Assembly.GetName().Version?.ToString(3) ?? "0", host.State, host.Error, model,
                    service?.QueueDepth ?? 0, !string.IsNullOrEmpty(options.ApiKey), limits, styles.All.Select(s => s.Id).ToList(), ApiNames);
                return Results.Json(info, NativeJson.Options);
            })
            .WithSummary("Server, model, limits and styles (answers while the model is loading too).")
            .Produces<NativeInfo>();
    }

    private static async Task<IResult> GenerateAsync(HttpContext http, ModelHost host, StylePresets styles, OutputWriter writer, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var service = ApiRequests.RequireService(host);
        var r = await ApiRequests.ReadJsonAsync<NativeGenerateRequest>(http.Request, NativeJson.Options, ct).ConfigureAwait(false);
        string prompt = r.Prompt ?? "", negative = r.NegativePrompt ?? "";
        RequestLimits.CheckPrompt("prompt", prompt);
        RequestLimits.CheckPrompt("negative_prompt", negative);
        if (r.N is < 1 or > RequestLimits.MaxImagesPerRequest)
        {
            throw new InvalidRequestException("n", $"n must be between 1 and {RequestLimits.MaxImagesPerRequest} (got {r.N}).");
        }
        int width = r.Width ?? service.Model.DefaultSize, height = r.Height ?? service.Model.DefaultSize;
        RequestLimits.CheckSide("width", width, "width");
        RequestLimits.CheckSide("height", height, "height");
        var format = ImageOutput.Parse("output_format", r.OutputFormat);
        if (r.Quality is < 1 or > 100) throw new InvalidRequestException("quality", $"quality must be between 1 and 100 (got {r.Quality}).");
        if (r.TinyVae && !service.Model.HasTinyVae) throw new InvalidRequestException("tiny_vae", "No tiny VAE is loaded on this server (start it with a tiny VAE).");
        var style = styles.FindOrNone(r.Style);
        if (style is not null) (prompt, negative) = style.Apply(prompt, negative);
        RgbImage? init = null;
        if (r.InitImage is not null)
        {
            ApiRequests.RequireImageToImage(service, "init_image");
            init = InputImages.FromBase64("init_image", r.InitImage);
        }
        var controls = NativeControls.Map(r.Controls, host.ControlNets, width, height);
        var mask = NativeMask(r, init);
        var request = new GenerationRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Width = width,
            Height = height,
            Steps = r.Steps,
            GuidanceScale = r.GuidanceScale,
            Seed = r.Seed,
            BatchSize = r.N,
            InitImage = init,
            Mask = mask,
            Strength = r.Strength,
            UseTinyVae = r.TinyVae,
            Controls = controls,
        };
        var job = service.Submit(ApiRequests.SessionKey(http, "native"), request, ct);
        var result = await job.Result.ConfigureAwait(false);
        double queueMs = job.QueueTime?.TotalMilliseconds ?? 0;
        double generateMs = (job.FinishedAt - job.StartedAt)?.TotalMilliseconds ?? 0;

        var encode = Stopwatch.StartNew();
        var images = new List<NativeImage>(result.Images.Count);
        for (int i = 0; i < result.Images.Count; i++)
        {
            var written = writer.Write(result, i, service.Model.Id, format, r.Quality, r.Save);
            images.Add(new NativeImage(result.Seeds[i], ImageOutput.Name(format), Convert.ToBase64String(written.Bytes), written.Metadata.Parameters, written.SavedAs));
        }
        var timings = new NativeTimings(queueMs, generateMs, result.Timings.OnnxMilliseconds, encode.Elapsed.TotalMilliseconds, total.Elapsed.TotalMilliseconds,
            result.Timings.Stages.Select(s => new NativeStage(s.Stage, s.Milliseconds, s.OnnxMilliseconds)).ToList());
        var response = new NativeGenerateResponse(service.Model.Id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), result.Width, result.Height, request.Steps,
            request.GuidanceScale, result.Sampler, init is null ? "txt2img" : mask is null ? "img2img" : "inpaint", init is null ? null : request.Strength, style?.Id,
            prompt, negative, result.PromptTruncated, request.UseTinyVae ? "tiny" : "full", result.Seeds, images, timings);
        return Results.Json(response, NativeJson.Options);
    }

    /// <summary>The request's inpainting mask (luminance: white repaints), checked against the init image; null without <c>mask</c>.</summary>
    private static InpaintMask? NativeMask(NativeGenerateRequest r, RgbImage? init)
    {
        if (r.Mask is null) return null;
        if (init is null) throw new InvalidRequestException("mask", "mask needs an init_image to inpaint.");
        var fill = InpaintMasks.ParseFill("inpainting_fill", r.InpaintingFill);
        return InpaintMasks.Create(InpaintMasks.Fields.Native, InputImages.FromBase64("mask", r.Mask), init, r.MaskBlur, r.MaskInvert, r.InpaintFullRes,
            r.InpaintFullResPadding, fill);
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Api.Styles;

namespace TurboGen.Server.Api.Native;

/// <summary>
/// TurboGen's own API: <c>POST /api/generate</c> exposes every engine option (txt2img, img2img, n variants with
/// consecutive seeds, style, tiny VAE, steps, guidance, negative prompt, output format) and returns seeds, the
/// truncation flag and per-stage timings; <c>GET /api/info</c> describes the server, model and limits.
/// Errors use the OpenAI error object.
/// </summary>
public static class NativeApi
{
    public static readonly IReadOnlyList<string> ApiNames = ["native", "openai", "a1111"];

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").AddEndpointFilter(new ApiGuard(OpenAiErrorFormat.Instance)).WithTags("TurboGen");
        api.MapPost("/generate", GenerateAsync)
            .WithSummary("Generate images with every TurboGen option; returns seeds and per-stage timings.")
            .Accepts<NativeGenerateRequest>("application/json")
            .Produces<NativeGenerateResponse>()
            .Produces<OpenAiErrorEnvelope>(400).Produces<OpenAiErrorEnvelope>(401).Produces<OpenAiErrorEnvelope>(429).Produces<OpenAiErrorEnvelope>(503);
        api.MapGet("/info", (ModelHost host, ServerOptions options, IPromptStyles styles) =>
            {
                var service = host.Service;
                var m = service?.Model;
                var model = m is null ? null : new NativeModelInfo(m.Id, m.Family.ToString().ToLowerInvariant(), m.DefaultSize, m.Sampler, m.HasTinyVae, m.HasVaeEncoder);
                var limits = new NativeLimits(ApiLimits.MaxBodyBytes, ApiLimits.MaxImagesPerRequest, ApiLimits.MinSide, ApiLimits.MaxSide, 8,
                    GenerationRequest.MaxSteps, ApiLimits.MaxPromptChars, ApiLimits.MaxInputPixels, ApiLimits.MaxInputSide);
                var info = new NativeInfo("TurboGen", typeof(NativeApi).Assembly.GetName().Version?.ToString(3) ?? "0", host.State, host.Error, model,
                    service?.QueueDepth ?? 0, !string.IsNullOrEmpty(options.ApiKey), limits, styles.All.Select(s => s.Name).ToList(), ApiNames);
                return Results.Json(info, NativeJson.Options);
            })
            .WithSummary("Server, model, limits and styles (answers while the model is loading too).")
            .Produces<NativeInfo>();
    }

    private static async Task<IResult> GenerateAsync(HttpContext http, ModelHost host, ServerOptions options, IPromptStyles styles, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var service = ApiRequests.RequireService(host);
        var r = await ApiRequests.ReadJsonAsync<NativeGenerateRequest>(http.Request, NativeJson.Options, ct).ConfigureAwait(false);
        string prompt = r.Prompt ?? "", negative = r.NegativePrompt ?? "";
        ApiLimits.CheckPrompt("prompt", prompt);
        ApiLimits.CheckPrompt("negative_prompt", negative);
        if (r.N is < 1 or > ApiLimits.MaxImagesPerRequest)
        {
            throw new InvalidRequestException("n", $"n must be between 1 and {ApiLimits.MaxImagesPerRequest} (got {r.N}).");
        }
        int width = r.Width ?? service.Model.DefaultSize, height = r.Height ?? service.Model.DefaultSize;
        ApiLimits.CheckSide("width", "width", width);
        ApiLimits.CheckSide("height", "height", height);
        var format = ImageOutput.Parse("output_format", r.OutputFormat);
        if (r.Quality is < 1 or > 100) throw new InvalidRequestException("quality", $"quality must be between 1 and 100 (got {r.Quality}).");
        if (r.TinyVae && !service.Model.HasTinyVae) throw new InvalidRequestException("tiny_vae", "No tiny VAE is loaded on this server (start it with a tiny VAE).");
        PromptStyle? style = null;
        if (!string.IsNullOrWhiteSpace(r.Style))
        {
            style = styles.Find(r.Style) ?? throw new InvalidRequestException("style", $"Unknown style '{r.Style}'. Available: {string.Join(", ", styles.All.Select(s => s.Name))}.");
            (prompt, negative) = style.Apply(prompt, negative);
        }
        RgbImage? init = null;
        if (r.InitImage is not null)
        {
            ApiRequests.RequireImageToImage(service, "init_image");
            init = RequestImages.FromBase64("init_image", r.InitImage);
        }
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
            Strength = r.Strength,
            UseTinyVae = r.TinyVae,
        };
        var queued = Stopwatch.StartNew();
        double queueMs = -1;
        var progress = new FirstEvent(() => queueMs = queued.Elapsed.TotalMilliseconds);
        var result = await service.GenerateAsync(ApiRequests.SessionKey(http, "native"), request, ct, progress).ConfigureAwait(false);
        double generateMs = queued.Elapsed.TotalMilliseconds - Math.Max(0, queueMs);

        var encode = Stopwatch.StartNew();
        var images = new List<NativeImage>(result.Images.Count);
        for (int i = 0; i < result.Images.Count; i++)
        {
            var metadata = GenerationMetadata.For(result, i, service.Model.Id);
            byte[] bytes = ImageOutput.Encode(result.Images[i], format, r.Quality, format == ImageOutputFormat.Png ? metadata : null);
            string? saved = null;
            if (r.Save)
            {
                saved = $"{DateTime.Now:yyyyMMdd-HHmmss}-{result.Seeds[i]}-{Guid.NewGuid().ToString("N")[..8]}.png";
                ImageCodec.SavePng(result.Images[i], Path.Combine(options.OutputDir, saved), metadata);
            }
            images.Add(new NativeImage(result.Seeds[i], ImageOutput.Name(format), Convert.ToBase64String(bytes), metadata.Parameters, saved));
        }
        var timings = new NativeTimings(Math.Max(0, queueMs), generateMs, result.Timings.OnnxMilliseconds, encode.Elapsed.TotalMilliseconds, total.Elapsed.TotalMilliseconds,
            result.Timings.Stages.Select(s => new NativeStage(s.Stage, s.Milliseconds, s.OnnxMilliseconds)).ToList());
        var response = new NativeGenerateResponse(service.Model.Id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), result.Width, result.Height, request.Steps,
            request.GuidanceScale, result.Sampler, init is null ? "txt2img" : "img2img", init is null ? null : request.Strength, style?.Name,
            prompt, negative, result.PromptTruncated, request.UseTinyVae ? "tiny" : "full", result.Seeds, images, timings);
        return Results.Json(response, NativeJson.Options);
    }

    /// <summary>Runs an action on the first progress event (the job left the queue and started on the model).</summary>
    private sealed class FirstEvent(Action action) : IProgress<GenerationProgress>
    {
        private int _seen;

        public void Report(GenerationProgress value)
        {
            if (Interlocked.Exchange(ref _seen, 1) == 0) action();
        }
    }
}

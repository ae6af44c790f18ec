using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Policy;
using TurboGen.Upscaling;

namespace TurboGen.Server.Api.Native;

/// <summary><c>POST /api/upscale</c>: one image enlarged by <see cref="Scale"/> (or to <see cref="Width"/>×<see cref="Height"/>), optionally refined.</summary>
public sealed class NativeUpscaleRequest
{
    /// <summary>Base64 image or data URL.</summary>
    [JsonPropertyName("image")] public string? Image { get; set; }
    /// <summary>Factor in [1, 4] (default 2); ignored when width and height are given.</summary>
    [JsonPropertyName("scale")] public float Scale { get; set; } = 2;
    [JsonPropertyName("width")] public int? Width { get; set; }
    [JsonPropertyName("height")] public int? Height { get; set; }
    /// <summary>Upscaler name from <c>GET /api/upscalers</c>; null = the server's default (the first ESRGAN model, else Lanczos).</summary>
    [JsonPropertyName("upscaler")] public string? Upscaler { get; set; }
    /// <summary>Refine the upscaled image with the turbo model (hires fix); sizes are then rounded to multiples of 8.</summary>
    [JsonPropertyName("refine")] public NativeRefine? Refine { get; set; }
    [JsonPropertyName("output_format")] public string? OutputFormat { get; set; }
    [JsonPropertyName("quality")] public int Quality { get; set; } = 90;
    /// <summary>Also keep the upscaled PNG (with its <see cref="UpscaleRecord"/>) in the caller's history (<see cref="HistoryOwner"/>: the client id, else the shared folder).</summary>
    [JsonPropertyName("save")] public bool Save { get; set; }
}

/// <summary>The refine pass of <c>/api/upscale</c>.</summary>
public sealed class NativeRefine
{
    [JsonPropertyName("prompt")] public string? Prompt { get; set; }
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; set; }
    [JsonPropertyName("steps")] public int Steps { get; set; } = 2;
    [JsonPropertyName("strength")] public float Strength { get; set; } = 0.3f;
    [JsonPropertyName("seed")] public long? Seed { get; set; }
}

public sealed record NativeUpscaleResponse(
    [property: JsonPropertyName("upscaler")] string Upscaler,
    [property: JsonPropertyName("input_width")] int InputWidth,
    [property: JsonPropertyName("input_height")] int InputHeight,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("refined")] bool Refined,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("b64_json")] string B64Json,
    [property: JsonPropertyName("queue_ms")] double QueueMs,
    [property: JsonPropertyName("upscale_ms")] double UpscaleMs,
    [property: JsonPropertyName("total_ms")] double TotalMs,
    [property: JsonPropertyName("saved_as"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SavedAs = null);

public sealed record NativeUpscalerInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("scale")] int? Scale,
    [property: JsonPropertyName("default")] bool Default);

/// <summary>The native upscaling endpoints: the list of upscalers and one-image upscaling (with an optional refine pass).</summary>
public static class NativeUpscaleApi
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/upscalers", (ModelHost host) => Results.Json(host.Upscalers.All.Select(u =>
                new NativeUpscalerInfo(u.Name, u.NativeScale is null ? "resampler" : "esrgan", u.NativeScale, ReferenceEquals(u, host.Upscalers.Default))).ToList(), NativeJson.Options))
            .WithSummary("Upscalers: Lanczos and the ESRGAN-family models loaded with serve --upscaler.")
            .Produces<List<NativeUpscalerInfo>>();
        api.MapPost("/upscale", UpscaleAsync)
            .WithSummary("Upscale one image (ESRGAN tiled or Lanczos), optionally refined with the turbo model.")
            .Accepts<NativeUpscaleRequest>("application/json").Produces<NativeUpscaleResponse>().Produces<OpenAiErrorEnvelope>(400);
    }

    private static async Task<IResult> UpscaleAsync(HttpContext http, ModelHost host, OutputWriter writer, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var service = ApiRequests.RequireService(host);
        var r = await ApiRequests.ReadJsonAsync<NativeUpscaleRequest>(http.Request, NativeJson.Options, ct).ConfigureAwait(false);
        var format = ImageOutput.Parse("output_format", r.OutputFormat);
        if (r.Quality is < 1 or > 100) throw new InvalidRequestException("quality", $"quality must be between 1 and 100 (got {r.Quality}).");
        var upscaler = host.Upscalers.Resolve(r.Upscaler, "upscaler");
        HiresOptions? refine = null;
        if (r.Refine is { } rf)
        {
            if (rf.Seed is < 0) throw new InvalidRequestException("refine.seed", $"refine.seed must be ≥ 0 (got {rf.Seed}).");
            refine = new HiresOptions { Prompt = rf.Prompt ?? "", NegativePrompt = rf.NegativePrompt ?? "", Steps = rf.Steps, Strength = rf.Strength, Seed = rf.Seed };
            refine.Validate();
            ApiRequests.RequireImageToImage(service, "refine");
        }
        var owner = r.Save ? HistoryOwner.From(http.Request) : null;
        var image = InputImages.FromBase64("image", r.Image);
        int width, height;
        if (r.Width is { } w && r.Height is { } h)
        {
            UpscaleLimits.CheckInput(image.Width, image.Height, "image");
            (width, height) = UpscaleLimits.CheckOutput(w, h, "width");
        }
        else
        {
            (width, height) = UpscaleLimits.Target(image.Width, image.Height, r.Scale, "image", "scale");
        }
        if (refine is not null)
        {
            (width, height) = HiresRefine.RefineSize(width, height);
            if (width > HiresRefine.MaxSide || height > HiresRefine.MaxSide)
                throw new InvalidRequestException("refine", $"a refined image is at most {HiresRefine.MaxSide}x{HiresRefine.MaxSide} (this one would be {width}x{height}).");
        }
        var job = service.SubmitUpscale(ApiRequests.SessionKey(http, "native"), image, upscaler, width, height, ct, refine);
        var result = await job.Result.ConfigureAwait(false);
        var metadata = UpscaleMetadata.For(new UpscaleRecord(upscaler.Name, result.Width, result.Height, image.Width, image.Height, refine is not null), refine?.Prompt);
        var bytes = ImageOutput.Encode(result, format, r.Quality, metadata);
        string? saved = owner is null ? null
            : writer.Keep(bytes, format, result, metadata, refine?.Seed ?? 0, owner);
        return Results.Json(new NativeUpscaleResponse(upscaler.Name, image.Width, image.Height, result.Width, result.Height, refine is not null,
            ImageOutput.Name(format), Convert.ToBase64String(bytes), job.QueueTime?.TotalMilliseconds ?? 0,
            (job.FinishedAt - job.StartedAt)?.TotalMilliseconds ?? 0, total.Elapsed.TotalMilliseconds, saved), NativeJson.Options);
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// AUTOMATIC1111-compatible API under <c>/sdapi/v1</c>: txt2img (with the hires fix), img2img, progress, interrupt, skip, sd-models,
/// samplers, schedulers, upscalers and extra-single-image (<see cref="A1111Upscaling"/>), sd-vae, prompt-styles and options. Generation runs <c>n_iter</c> jobs of
/// <c>batch_size</c> images on the shared worker (seeds seed, seed+1, … across all images, as A1111 numbers them);
/// images are PNGs with the infotext embedded; <c>info</c> is a JSON string with A1111's keys plus
/// <c>turbogen_ignored</c>. Request mapping: <see cref="A1111RequestMapper"/>; progress: <see cref="A1111JobTracker"/>.
/// </summary>
public static class A1111Api
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/sdapi/v1").AddEndpointFilter(new ApiGuard(A1111ErrorFormat.Instance)).WithMetadata(A1111ErrorFormat.Instance).WithTags("AUTOMATIC1111");
        api.MapPost("/txt2img", (HttpContext http, ModelHost host, A1111JobTracker tracker, StylePresets styles, OutputWriter writer, CancellationToken ct) =>
                GenerateAsync<A1111Txt2ImgRequest>(http, host, tracker, styles, writer, "scripts_txt2img", ct))
            .WithSummary("Text-to-image (A1111 /sdapi/v1/txt2img).")
            .Accepts<A1111Txt2ImgRequest>("application/json").Produces<A1111ImageResponse>().Produces<A1111Error>(422);
        api.MapPost("/img2img", (HttpContext http, ModelHost host, A1111JobTracker tracker, StylePresets styles, OutputWriter writer, CancellationToken ct) =>
                GenerateAsync<A1111Img2ImgRequest>(http, host, tracker, styles, writer, "scripts_img2img", ct))
            .WithSummary("Image-to-image (A1111 /sdapi/v1/img2img).")
            .Accepts<A1111Img2ImgRequest>("application/json").Produces<A1111ImageResponse>().Produces<A1111Error>(422);
        api.MapGet("/progress", (A1111JobTracker tracker, bool? skip_current_image) => Json(Progress(tracker, skip_current_image == true)))
            .WithSummary("Progress of the running txt2img/img2img request, with a preview image when available.")
            .Produces<A1111Progress>();
        api.MapPost("/interrupt", (A1111JobTracker tracker) =>
            {
                tracker.Interrupt();
                return Results.Json(new { }, A1111Json.Options);
            })
            .WithSummary("Stop the running request; images finished so far are returned to its caller.");
        api.MapPost("/skip", (A1111JobTracker tracker) =>
            {
                tracker.Skip();
                return Results.Json<object?>(null, A1111Json.Options);
            })
            .WithSummary("Skip the running iteration (n_iter) of the running request.");
        api.MapGet("/sd-models", (ModelHost host) =>
            {
                var model = ApiRequests.RequireService(host).Model;
                return Json(new[] { new A1111SdModel(model.Id, ModelName(model.Id), null, null, model.Id, null) });
            })
            .WithSummary("The loaded model (no server paths are disclosed).").Produces<A1111SdModel[]>();
        api.MapGet("/samplers", (ModelHost host) =>
            {
                var model = ApiRequests.RequireService(host).Model;
                string alias = "k_" + model.Sampler.ToLowerInvariant().Replace(' ', '_');
                return Json(new[] { new A1111Sampler(model.Sampler, [alias], new Dictionary<string, string>()) });
            })
            .WithSummary("The model's sampler (the only one TurboGen runs).").Produces<A1111Sampler[]>();
        api.MapGet("/schedulers", () => Json(new[] { new A1111Scheduler("automatic", "Automatic", null, null, false) }))
            .WithSummary("Schedulers: only the model's own (\"automatic\").").Produces<A1111Scheduler[]>();
        A1111Upscaling.Map(api);
        api.MapGet("/sd-vae", () => Json(Array.Empty<object>())).WithSummary("None: the model's VAE is built in.");
        api.MapGet("/prompt-styles", (StylePresets styles) => Json(styles.All.Select(s => new A1111PromptStyle(s.Id, s.Prompt, s.Negative)).ToArray()))
            .WithSummary("Available styles (usable in \"styles\").").Produces<A1111PromptStyle[]>();
        api.MapGet("/options", (ModelHost host) => Json(Options(ApiRequests.RequireService(host).Model)))
            .WithSummary("A subset of A1111 settings describing the server (sd_model_checkpoint, ...).");
        api.MapPost("/options", async (HttpContext http, ModelHost host, CancellationToken ct) =>
            {
                var model = ApiRequests.RequireService(host).Model;
                var settings = await ApiRequests.ReadJsonAsync<Dictionary<string, JsonElement>>(http.Request, A1111Json.Options, ct).ConfigureAwait(false);
                if (settings.TryGetValue("sd_model_checkpoint", out var checkpoint) && checkpoint.ValueKind == JsonValueKind.String
                    && !IsLoadedModel(checkpoint.GetString()!, model))
                {
                    throw new InvalidRequestException("sd_model_checkpoint", $"model '{checkpoint.GetString()}' not found (this server runs '{model.Id}').");
                }
                return Results.Json<object?>(null, A1111Json.Options);
            })
            .WithSummary("Accepted and ignored (settings do not change TurboGen), except that sd_model_checkpoint must name the loaded model.");
    }

    /// <summary>True when <paramref name="name"/> is one of the names the loaded model answers to (an A1111 " [hash]" suffix is ignored).</summary>
    public static bool IsLoadedModel(string name, LoadedModelInfo model) => model.AnswersTo(name);

    private static string ModelName(string id) => ModelNames.ShortName(id) ?? id;

    private static IResult Json<T>(T value) => Results.Json(value, A1111Json.Options);

    private static Dictionary<string, object?> Options(LoadedModelInfo model) => new()
    {
        ["sd_model_checkpoint"] = model.Id,
        ["sd_checkpoint_hash"] = null,
        ["sd_vae"] = "Automatic",
        ["samples_format"] = "png",
        ["CLIP_stop_at_last_layers"] = 1,
        ["live_previews_enable"] = model.HasTinyVae,
        ["show_progress_every_n_steps"] = 1,
        ["sd_model_refiner"] = null,
    };

    private static A1111Progress Progress(A1111JobTracker tracker, bool skipImage)
    {
        var job = tracker.Current;
        if (job is null)
        {
            return new A1111Progress(0, 0, new A1111State(false, false, false, "", 0, "0", 0, 0, 0), null, null);
        }
        var state = new A1111State(job.Skipped, job.Interrupted, false, job.Job, job.JobCount, job.Timestamp, job.JobNo, job.SamplingStep, job.SamplingSteps);
        double progress = 0.01 + (double)job.JobNo / job.JobCount;
        if (job.SamplingSteps > 0) progress += (double)job.SamplingStep / job.SamplingSteps / job.JobCount;
        double eta = 0;
        if (job.StartedAt is { } started)
        {
            double elapsed = (DateTimeOffset.UtcNow - started).TotalSeconds;
            eta = elapsed / progress - elapsed;
        }
        string? image = !skipImage && job.Preview is { } preview ? Convert.ToBase64String(ImageCodec.EncodePng(preview)) : null;
        string? text = job.SamplingSteps > 0 ? $"Step {job.SamplingStep}/{job.SamplingSteps}" : null;
        return new A1111Progress(Math.Min(progress, 1), eta, state, image, text);
    }

    private static async Task<IResult> GenerateAsync<T>(HttpContext http, ModelHost host, A1111JobTracker tracker, StylePresets styles,
        OutputWriter writer, string jobName, CancellationToken ct) where T : A1111GenerationRequest
    {
        var service = ApiRequests.RequireService(host);
        var request = await ApiRequests.ReadJsonAsync<T>(http.Request, A1111Json.Options, ct).ConfigureAwait(false);
        var plan = A1111RequestMapper.Map(request, service.Model, styles, host.Upscalers, host.ControlNets);
        if (plan.Request.IsImageToImage) ApiRequests.RequireImageToImage(service, "init_images");

        string session = ApiRequests.SessionKey(http, "a1111");
        var results = new List<GenerationResult>();
        using var job = tracker.Begin(jobName, plan.Iterations, ct);
        for (int iteration = 0; iteration < plan.Iterations && !job.Interrupted; iteration++)
        {
            var token = job.BeginIteration(iteration);
            try
            {
                var generation = plan.Request with { Seed = plan.Seed + (long)iteration * plan.BatchSize };
                var handle = await SubmitAsync(service, session, generation, plan.Hires, iteration, token).ConfigureAwait(false);
                job.Track(handle);
                results.Add(await handle.Result.ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested && (job.Interrupted || job.Skipped))
            {
                // Interrupted: return what is finished. Skipped: go on with the next iteration.
            }
            finally
            {
                job.EndIteration();
            }
        }

        var model = service.Model;
        var images = new List<string>();
        var infotexts = new List<string>();
        var extraParams = ExtraParams(plan);
        foreach (var result in results)
        {
            for (int i = 0; i < result.Images.Count; i++)
            {
                var written = writer.Write(result, i, model.Id, ImageOutputFormat.Png, 100, request.SaveImages, extraParams);
                infotexts.Add(written.Metadata.Parameters);
                if (request.SendImages) images.Add(Convert.ToBase64String(written.Bytes));
            }
        }
        return Results.Json(new A1111ImageResponse(images, Echo(request, plan), InfoJson(request, plan, model, results, infotexts, extraParams, job.Timestamp)), A1111Json.Options);
    }

    /// <summary>
    /// Submits one iteration. The first may be refused (429: nothing was done yet); a later one waits for its turn instead,
    /// so the images already made are not thrown away.
    /// </summary>
    private static async Task<GenerationJob<GenerationResult>> SubmitAsync(IGenerationService service, string session, GenerationRequest request,
        A1111Hires? hires, int iteration, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return hires is null
                    ? service.Submit(session, request, ct)
                    : service.SubmitHires(session, request, hires.Upscaler, hires.Width, hires.Height, hires.Options, ct);
            }
            catch (ServerBusyException busy) when (iteration > 0)
            {
                await Task.Delay(busy.RetryAfter, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The request as A1111 echoes it: every known field with its default, width/height resolved; init images only with include_init_images.</summary>
    private static JsonElement Echo(A1111GenerationRequest request, A1111Plan plan)
    {
        request.Width = plan.Request.Width;
        request.Height = plan.Request.Height;
        var unknown = request.Unknown;
        request.Unknown = null;
        if (request is A1111Img2ImgRequest { IncludeInitImages: false } i2i)
        {
            i2i.InitImages = null;
            i2i.Mask = null;
        }
        var echo = JsonSerializer.SerializeToElement(request, request.GetType(), A1111Json.Options);
        request.Unknown = unknown;
        var fields = echo.EnumerateObject().Where(p => p.Name != "include_init_images").ToDictionary(p => p.Name, p => p.Value);
        return JsonSerializer.SerializeToElement(fields, A1111Json.Options);
    }

    /// <summary>
    /// What A1111 reports beyond the request, in <c>info.extra_generation_params</c> and the same in each PNG's infotext: the
    /// hires pass and the ControlNet units as the extension describes them (with their preprocessors).
    /// </summary>
    private static Dictionary<string, string> ExtraParams(A1111Plan plan) =>
        new(HiresParams(plan.Hires, plan.Request).Concat(plan.ControlNetParams ?? new Dictionary<string, string>()));

    private static Dictionary<string, string> HiresParams(A1111Hires? hires, GenerationRequest gen)
    {
        var extra = new Dictionary<string, string> { ["VAE"] = "full" };
        if (hires is null) return extra;
        var c = System.Globalization.CultureInfo.InvariantCulture;
        extra["Hires upscale"] = ((double)hires.Width / gen.Width!.Value).ToString("0.###", c);
        extra["Hires resize"] = $"{hires.Width}x{hires.Height}";
        extra["Hires upscaler"] = hires.Upscaler.Name;
        extra["Hires steps"] = hires.Options.Steps.ToString(c);
        extra["Denoising strength"] = hires.Options.Strength.ToString(c);
        return extra;
    }

    private static string InfoJson(A1111GenerationRequest request, A1111Plan plan, LoadedModelInfo model, List<GenerationResult> results,
        List<string> infotexts, Dictionary<string, string> extraParams, string timestamp)
    {
        int total = plan.BatchSize * plan.Iterations;
        var gen = plan.Request;
        var seeds = Enumerable.Range(0, total).Select(i => plan.Seed + i).ToList();
        var info = new A1111Info(
            Prompt: request.Prompt ?? "",
            AllPrompts: Enumerable.Repeat(gen.Prompt, total).ToList(),
            NegativePrompt: gen.NegativePrompt,
            AllNegativePrompts: Enumerable.Repeat(gen.NegativePrompt, total).ToList(),
            Seed: plan.Seed,
            AllSeeds: seeds,
            Subseed: plan.Subseed,
            AllSubseeds: Enumerable.Range(0, total).Select(i => plan.Subseed + i).ToList(),
            SubseedStrength: request.SubseedStrength,
            Width: gen.Width!.Value,
            Height: gen.Height!.Value,
            SamplerName: results.FirstOrDefault()?.Sampler ?? model.Sampler,
            CfgScale: request.CfgScale,
            Steps: gen.Steps,
            BatchSize: plan.BatchSize,
            RestoreFaces: false,
            FaceRestorationModel: null,
            SdModelName: model.Id,
            SdModelHash: null,
            SdVaeName: null,
            SdVaeHash: null,
            SeedResizeFromW: request.SeedResizeFromW,
            SeedResizeFromH: request.SeedResizeFromH,
            DenoisingStrength: gen.IsImageToImage ? gen.Strength : null,
            ExtraGenerationParams: extraParams,
            IndexOfFirstImage: 0,
            Infotexts: infotexts,
            Styles: plan.AppliedStyles,
            JobTimestamp: timestamp,
            ClipSkip: 1,
            IsUsingInpaintingConditioning: false,
            Version: "TurboGen " + (typeof(A1111Api).Assembly.GetName().Version?.ToString(3) ?? "0"),
            TurbogenIgnored: plan.Ignored,
            TurbogenPromptTruncated: results.Any(r => r.PromptTruncated));
        return JsonSerializer.Serialize(info, A1111Json.Options);
    }
}

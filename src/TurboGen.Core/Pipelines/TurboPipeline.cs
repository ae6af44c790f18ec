using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// Text-to-image and image-to-image for SDXL-Turbo and SD-Turbo, composed from small parts: a conditioner per
/// model family, the scheduler named by the model's config, a latent initialiser per task, an optional ControlNet stage
/// (<see cref="ControlStage"/>: residuals for the UNet at each step, for any family and task), an optional inpainting stage
/// (<see cref="InpaintStage"/>: 9-channel UNet input or latent blending; <see cref="InpaintCrop"/> for full-resolution masks), and a decoder
/// (full VAE or tiny VAE). It orchestrates; the components compute. Reusable and thread-safe: everything a request
/// changes (noise streams, latents, timings) lives in that request's call; the components return their ONNX Runtime time
/// with their result, and the shared prompt-embedding cache locks.
/// <code>
/// using var model = TurboModel.Load("models/sdxl-turbo");
/// var pipeline = new TurboPipeline(model);
/// var result = pipeline.Generate(new GenerationRequest { Prompt = "a cat astronaut", Seed = 42 });
/// </code>
/// </summary>
public sealed class TurboPipeline
{
    private readonly IConditioner _conditioner;

    /// <summary>A pipeline over a loaded model, with the scheduler its config names and the conditioner of its family.</summary>
    /// <param name="model">The model; it stays owned by the caller.</param>
    /// <param name="cache">A prompt-embedding cache to share between pipelines; null: a new one of 128 entries.</param>
    /// <exception cref="TurboGenException">The model's scheduler config names an unsupported scheduler or option.</exception>
    public TurboPipeline(TurboModel model, PromptEmbeddingCache? cache = null)
    {
        Model = model;
        Cache = cache ?? new PromptEmbeddingCache();
        Scheduler = Schedulers.Create(model.SchedulerConfig);
        _conditioner = model.Family == ModelFamily.Sdxl ? new SdxlConditioner(model, Cache) : new SdConditioner(model, Cache);
    }

    /// <summary>The loaded model the pipeline runs.</summary>
    public TurboModel Model { get; }

    /// <summary>The scheduler created from the model's scheduler config.</summary>
    public IScheduler Scheduler { get; }

    /// <summary>The prompt-embedding cache the conditioner uses.</summary>
    public PromptEmbeddingCache Cache { get; }

    /// <summary>A1111 sampler name of the model's scheduler ("Euler a", "Euler", "LCM" or "TCD").</summary>
    public string SamplerName => Scheduler.SamplerName;

    /// <summary>Runs <see cref="Generate"/> on the thread pool.</summary>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    /// <summary>Runs one request: encode the prompts, prepare the latents, denoise, decode (unless latents only).</summary>
    /// <param name="request">The request; a bad field throws <see cref="InvalidRequestException"/> naming it.</param>
    /// <param name="progress">Receives a stage/step event per stage and step (with a preview when <see cref="GenerationRequest.PreviewSteps"/>).</param>
    /// <param name="cancellationToken">Stops between steps and terminates an ONNX run in progress (<see cref="OperationCanceledException"/>).</param>
    /// <exception cref="NumericalException">The UNet or the VAE decoder produced NaN/Inf.</exception>
    public GenerationResult Generate(GenerationRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var (width, height) = request.Validate(Model.DefaultSize);
        if (request.Mask is { FullResolution: true })
        {
            return InpaintCrop.Generate(this, request, width, height, progress, cancellationToken);
        }
        if (request.Mask is null && Model.Unet.SampleChannels == 9)
        {
            throw new InvalidRequestException("mask", $"{Model.Id} is an inpainting model (its UNet takes 9 channels): give an init image and a mask.");
        }
        if (request.UseTinyVae && Model.TinyVaeDecoder is null)
        {
            throw new InvalidRequestException("tiny_vae", "The tiny VAE was requested but none is loaded (load the model with a tiny VAE path).");
        }
        var clock = Stopwatch.StartNew();
        var timings = new StageTimings();
        long seed0 = request.Seed ?? Random.Shared.NextInt64(0, 1L << 32);
        var seeds = Enumerable.Range(0, request.BatchSize).Select(i => seed0 + i).ToArray();
        var noise = seeds.Select(s => new NoiseStream((ulong)s)).ToArray();
        // An LCM-distilled UNet takes the guidance scale as an embedding (timestep_cond) and is never run with classifier-free
        // guidance, as diffusers' pipelines do for a UNet with time_cond_proj_dim.
        bool cfg = request.UsesGuidance && !Model.Unet.UsesGuidanceEmbedding;

        progress?.Report(new GenerationProgress("encode", 0, request.Steps, clock.Elapsed));
        var cond = _conditioner.Encode(request.Prompt, request.NegativePrompt, request.BatchSize, cfg, width, height, timings, cancellationToken);
        CheckUnetWidth(cond);
        cancellationToken.ThrowIfCancellationRequested();

        var control = ControlStage.For(Model, request, width, height, cfg, timings);

        var inpaint = request.Mask is null ? null : InpaintStage.Prepare(Model, Scheduler, request, width, height, noise, timings, cancellationToken);
        ILatentInit init = request.IsImageToImage ? new ImageToImageInit(Model) : new TextToImageInit();
        var start = inpaint?.Start ?? init.Prepare(Scheduler, request, width, height, noise, timings, cancellationToken);
        var latents = Denoise(start, cond, control, inpaint, request, noise, cfg, timings, progress, clock, cancellationToken);
        if (ImageTensors.ContainsNonFinite(latents.Data))
        {
            throw new NumericalException("unet", "The UNet produced NaN/Inf values (an fp16 model overflowing?). Try the fp32 model or another execution provider.");
        }

        IReadOnlyList<RgbImage> images = [];
        if (!request.LatentsOnly)
        {
            progress?.Report(new GenerationProgress("decode", request.Steps, request.Steps, clock.Elapsed));
            images = Decode(latents, request.UseTinyVae, timings, cancellationToken);
            if (inpaint is not null && request.Mask!.Blur > 0) images = images.Select(inpaint.Feather).ToList();
        }
        progress?.Report(new GenerationProgress("done", request.Steps, request.Steps, clock.Elapsed));
        // The request as run: an LCM-distilled UNet never saw the negative prompt, so the metadata must not record one.
        var asRun = Model.Unet.UsesGuidanceEmbedding ? request with { Seed = seed0, NegativePrompt = "" } : request with { Seed = seed0 };
        return new GenerationResult(images, seeds, latents, timings, width, height, cond.PromptTruncated, asRun, SamplerName);
    }

    private void CheckUnetWidth(Conditioning cond)
    {
        int expected = Model.Unet.CrossAttentionDim;
        long actual = cond.EncoderHiddenStates.Shape[2];
        if (expected > 0 && expected != actual)
        {
            throw new ModelContractException(Model.Unet.Path, $"The text encoders produce {actual}-wide embeddings but the unet expects encoder_hidden_states of width {expected}.");
        }
    }

    private FloatTensor Denoise(LatentStart start, Conditioning cond, ControlStage? control, InpaintStage? inpaint, GenerationRequest request, NoiseStream[] noise, bool cfg,
        StageTimings timings, IProgress<GenerationProgress>? progress, Stopwatch clock, CancellationToken ct)
    {
        var schedule = start.Schedule;
        var x = start.Latents;
        int n = x.Length, plane = n / request.BatchSize;
        var scaled = new float[n];
        // TurboGen's rule "a guidance scale ≤ 1 means unguided" holds here too: such scales embed as 1 (w = 0) rather than the
        // negative w diffusers would feed (an LCM UNet was never distilled with one), so the turbo default 0 stays sensible.
        var timestepCond = Model.Unet.UsesGuidanceEmbedding
            ? GuidanceEmbedding.For(request.UsesGuidance ? request.GuidanceScale : 1f, Model.Unet.GuidanceEmbeddingDim, request.BatchSize)
            : null;
        var stepNoise = new float[n];
        var prev = new float[n];
        var x0 = new float[n];
        for (int i = 0; i < schedule.Timesteps.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var sw = Stopwatch.StartNew();
            Scheduler.ScaleModelInput(schedule, i, x.Data, scaled);
            var input = cfg ? FloatTensor.ConcatBatch(new FloatTensor(scaled, x.Shape), new FloatTensor(scaled, x.Shape)) : new FloatTensor(scaled, x.Shape);
            var residuals = control?.Residuals(input, schedule.Timesteps[i], cond, i, schedule.Timesteps.Count, timings, ct);
            var (eps, onnx) = Model.Unet.Predict(inpaint?.UnetInput(input) ?? input, schedule.Timesteps[i], cond.EncoderHiddenStates, cond.TextEmbeds, cond.TimeIds, residuals, ct, timestepCond);
            var guided = cfg ? Guide(eps.Data, n, request.GuidanceScale) : eps.Data;
            if (Scheduler.IsAncestral)
            {
                if (request.StepNoise is { } given && i < given.Count) given[i].Data.CopyTo(stepNoise, 0);
                else for (int b = 0; b < noise.Length; b++) noise[b].Next(stepNoise.AsSpan(b * plane, plane));
            }
            Scheduler.Step(schedule, i, guided, x.Data, stepNoise, prev, x0);
            inpaint?.AfterStep(schedule, i, prev);
            x = new FloatTensor((float[])prev.Clone(), x.Shape);
            timings.Add($"unet.step{i}", sw.Elapsed.TotalMilliseconds, onnx);
            if (progress is not null)
            {
                RgbImage? preview = null;
                if (request.PreviewSteps && Model.TinyVaeDecoder is { } tiny)
                {
                    var first = new FloatTensor(x0[..plane], [1, x.Shape[1], x.Shape[2], x.Shape[3]]);
                    preview = ImageTensors.FromNchw(tiny.Decode(first, ct).Value.Data, (int)x.Shape[3] * 8, (int)x.Shape[2] * 8, Model.TinyVaeRange);
                }
                progress.Report(new GenerationProgress("denoise", i + 1, schedule.Timesteps.Count, clock.Elapsed, preview));
            }
        }
        return x;
    }

    /// <summary>ε = ε_u + g·(ε_c − ε_u) over a [2B,…] prediction laid out [uncond…, cond…].</summary>
    private static float[] Guide(float[] eps, int n, float g)
    {
        var result = new float[n];
        for (int i = 0; i < n; i++)
        {
            float u = eps[i], c = eps[n + i];
            result[i] = u + g * (c - u);
        }
        return result;
    }

    /// <summary>
    /// Decodes latents [B,4,h,w] to images, one image at a time to bound memory: the full VAE gets latents / scaling_factor
    /// and returns [-1,1]; the tiny VAE gets the latents unscaled (TAESD scale 1, MODEL-CONTRACT §5.4).
    /// </summary>
    public IReadOnlyList<RgbImage> Decode(FloatTensor latents, bool tinyVae, StageTimings timings, CancellationToken cancellationToken = default)
    {
        var decoder = tinyVae ? Model.TinyVaeDecoder ?? throw new InvalidRequestException("tiny_vae", "No tiny VAE is loaded.") : Model.VaeDecoder;
        var range = tinyVae ? Model.TinyVaeRange : ImageRange.MinusOneToOne;
        float scale = tinyVae ? 1f : 1f / Model.ScalingFactor;
        int batch = (int)latents.Shape[0];
        long plane = latents.Length / batch;
        var images = new List<RgbImage>(batch);
        var sw = Stopwatch.StartNew();
        double onnx = 0;
        for (int b = 0; b < batch; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var z = new float[plane];
            for (long i = 0; i < plane; i++) z[i] = latents.Data[b * plane + i] * scale;
            var (decoded, runMs) = decoder.Decode(new FloatTensor(z, [1, latents.Shape[1], latents.Shape[2], latents.Shape[3]]), cancellationToken);
            onnx += runMs;
            if (ImageTensors.ContainsNonFinite(decoded.Data))
            {
                throw new NumericalException("decode", Model.Family == ModelFamily.Sdxl && Model.VaeForceUpcast
                    ? "The VAE decoder produced NaN/Inf values: the SDXL VAE overflows in float16. Use an fp32 VAE decoder or madebyollin/sdxl-vae-fp16-fix."
                    : "The VAE decoder produced NaN/Inf values.");
            }
            images.Add(ImageTensors.FromNchw(decoded.Data, (int)decoded.Shape[3], (int)decoded.Shape[2], range));
        }
        timings.Add(tinyVae ? "decode.tiny_vae" : "decode.vae", sw.Elapsed.TotalMilliseconds, onnx);
        return images;
    }
}

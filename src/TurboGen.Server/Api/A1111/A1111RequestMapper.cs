using System.Globalization;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api.A1111;

/// <summary>What one A1111 request runs: the per-iteration generation request, counts, seeds, styled prompts, and the ignored-field report.</summary>
public sealed record A1111Plan(
    GenerationRequest Request,
    int BatchSize,
    int Iterations,
    long Seed,
    long Subseed,
    IReadOnlyList<string> AppliedStyles,
    IReadOnlyDictionary<string, string> Ignored,
    A1111Hires? Hires = null,
    IReadOnlyDictionary<string, string>? ControlNetParams = null);

/// <summary>
/// Validates an A1111 request (each violation names its field; rendered as 422) and maps it onto a
/// <see cref="GenerationRequest"/>. Everything TurboGen accepts but cannot honour — other samplers and schedulers,
/// face restoration, tiling, variation seeds, sampler noise options, scripts other than ControlNet (<see cref="A1111ControlNet"/>), latent masks, settings overrides,
/// unknown styles and unknown fields — is listed with the reason in <see cref="A1111Plan.Ignored"/>.
/// </summary>
public static class A1111RequestMapper
{
    public static A1111Plan Map(A1111GenerationRequest r, LoadedModelInfo model, StylePresets styles, UpscalerSet? upscalers = null, ControlNetSet? controlnets = null)
    {
        var ignored = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string prompt = r.Prompt ?? "", negative = r.NegativePrompt ?? "";
        RequestLimits.CheckPrompt("prompt", prompt);
        RequestLimits.CheckPrompt("negative_prompt", negative);
        if (r.BatchSize < 1) throw new InvalidRequestException("batch_size", $"batch_size must be at least 1 (got {r.BatchSize}).");
        if (r.NIter < 1) throw new InvalidRequestException("n_iter", $"n_iter must be at least 1 (got {r.NIter}).");
        if ((long)r.BatchSize * r.NIter > RequestLimits.MaxImagesPerRequest)
        {
            throw new InvalidRequestException("batch_size", $"batch_size × n_iter must be at most {RequestLimits.MaxImagesPerRequest} (got {r.BatchSize} × {r.NIter}).");
        }
        if (r.Steps is < 1 or > GenerationRequest.MaxSteps)
        {
            throw new InvalidRequestException("steps", $"steps must be between 1 and {GenerationRequest.MaxSteps} (got {r.Steps}).");
        }
        if (!float.IsFinite(r.CfgScale) || r.CfgScale is < 0 or > 50)
        {
            throw new InvalidRequestException("cfg_scale", $"cfg_scale must be between 0 and 50 (got {r.CfgScale.ToString(CultureInfo.InvariantCulture)}).");
        }
        int width = r.Width ?? model.DefaultSize, height = r.Height ?? model.DefaultSize;
        RequestLimits.CheckSide("width", width, "width");
        RequestLimits.CheckSide("height", height, "height");
        if (r.Seed < -1) throw new InvalidRequestException("seed", $"seed must be -1 (random) or ≥ 0 (got {r.Seed}).");
        long seed = r.Seed == -1 ? Random.Shared.NextInt64(0, 4294967294L) : r.Seed;
        long subseed = r.Subseed < 0 ? Random.Shared.NextInt64(0, 4294967294L) : r.Subseed;

        CheckModel(r.OverrideSettings, model);
        var applied = new List<string>();
        foreach (string name in r.Styles ?? [])
        {
            if (styles.TryFind(name, out var style))
            {
                (prompt, negative) = style!.Apply(prompt, negative);
                applied.Add(style.Id);
            }
            else if (!StylePresets.IsNone(name))
            {
                ignored[$"styles.{name}"] = $"no style named '{name}' (available: {string.Join(", ", styles.All.Select(s => s.Id))})";
            }
        }

        string? sampler = string.IsNullOrWhiteSpace(r.SamplerName) ? r.SamplerIndex : r.SamplerName;
        if (!string.IsNullOrWhiteSpace(sampler) && !IsModelSampler(sampler, model.Sampler))
        {
            ignored[string.IsNullOrWhiteSpace(r.SamplerName) ? "sampler_index" : "sampler_name"] = $"TurboGen runs the model's own sampler ({model.Sampler}), not '{sampler}'";
        }
        if (!string.IsNullOrWhiteSpace(r.Scheduler) && !r.Scheduler.Equals("automatic", StringComparison.OrdinalIgnoreCase))
        {
            ignored["scheduler"] = $"TurboGen uses the model's own timestep schedule, not '{r.Scheduler}'";
        }
        if (r.RestoreFaces == true) ignored["restore_faces"] = "face restoration is not available";
        if (r.Tiling == true) ignored["tiling"] = "tiling is not available";
        if (r.SubseedStrength > 0) ignored["subseed_strength"] = "variation seeds are not available";
        if (r.SeedResizeFromW > 0 || r.SeedResizeFromH > 0) ignored["seed_resize_from_w"] = "resizing seeds from another size is not available";
        foreach (var (field, value, neutral) in new (string, float?, float)[]
                 { ("eta", r.Eta, 0), ("s_churn", r.SChurn, 0), ("s_tmin", r.STmin, 0), ("s_tmax", r.STmax, 0), ("s_noise", r.SNoise, 1), ("s_min_uncond", r.SMinUncond, 0) })
        {
            if (value is { } v && v != neutral && !(field == "s_tmax" && float.IsPositiveInfinity(v))) ignored[field] = "sampler noise options do not apply to the model's sampler";
        }
        if (!string.IsNullOrWhiteSpace(r.RefinerCheckpoint)) ignored["refiner_checkpoint"] = "refiner models are not available";
        if (!string.IsNullOrWhiteSpace(r.ScriptName)) ignored["script_name"] = $"scripts are not available ('{r.ScriptName}' did not run)";
        if (r.AlwaysonScripts?.Keys.Where(k => !k.Equals(A1111ControlNet.ScriptKey, StringComparison.OrdinalIgnoreCase)).ToList() is { Count: > 0 } scripts)
        {
            ignored["alwayson_scripts"] = $"scripts are not available ({string.Join(", ", scripts)} did not run)";
        }
        if (!string.IsNullOrWhiteSpace(r.Infotext)) ignored["infotext"] = "parameters are not read from infotext; send them as fields";
        foreach (string key in (r.OverrideSettings ?? []).Keys.Where(k => k != "sd_model_checkpoint"))
        {
            ignored[$"override_settings.{key}"] = "web UI settings are not applied by TurboGen";
        }
        if (r.CfgScale <= 1 && !string.IsNullOrWhiteSpace(negative))
        {
            ignored["negative_prompt"] = "a negative prompt has no effect without guidance (cfg_scale ≤ 1)";
        }
        foreach (string key in (r.Unknown ?? []).Keys)
        {
            ignored[key] = "not an AUTOMATIC1111 API field";
        }
        var hires = r is A1111Txt2ImgRequest t2i ? A1111Upscaling.MapHires(t2i, width, height, prompt, negative, upscalers ?? UpscalerSet.LanczosOnly, ignored) : null;

        RgbImage? init = null;
        InpaintMask? mask = null;
        float strength = 0.5f;
        if (r is A1111Img2ImgRequest i2i)
        {
            if (i2i.InitImages is not { Count: > 0 })
            {
                throw new InvalidRequestException("init_images", "init_images is required: a list with one base64-encoded image.");
            }
            init = InputImages.FromBase64("init_images", i2i.InitImages[0]);
            strength = i2i.DenoisingStrength ?? 0.75f;
            if (!float.IsFinite(strength) || strength <= 0 || strength > 1)
            {
                throw new InvalidRequestException("denoising_strength", $"denoising_strength must be in (0, 1] (got {strength.ToString(CultureInfo.InvariantCulture)}).");
            }
            if (i2i.InitImages.Count > 1) ignored["init_images"] = $"only the first of {i2i.InitImages.Count} init images is used";
            mask = A1111Inpainting.Map(i2i, ignored);
            mask?.Validate(init.Width, init.Height);
            if (i2i.ResizeMode != 1 && (long)init.Width * height != (long)init.Height * width)
            {
                ignored["resize_mode"] = "the init image is always cropped to fill width × height (resize_mode 1)";
            }
            if (i2i.ImageCfgScale is not null) ignored["image_cfg_scale"] = "image CFG applies to instruct-pix2pix models only";
            if (i2i.InitialNoiseMultiplier is { } m && m != 1) ignored["initial_noise_multiplier"] = "the initial noise is not rescaled";
        }

        var controlParams = new Dictionary<string, string>();
        var controls = A1111ControlNet.Map(r.AlwaysonScripts, controlnets ?? ControlNetSet.Empty, width, height, init, ignored, controlParams);

        var request = new GenerationRequest
        {
            Prompt = prompt,
            NegativePrompt = negative,
            Width = width,
            Height = height,
            Steps = r.Steps,
            GuidanceScale = r.CfgScale,
            BatchSize = r.BatchSize,
            Seed = seed,
            InitImage = init,
            Mask = mask,
            Strength = strength,
            PreviewSteps = r.Steps > 1 && model.HasTinyVae,
            Controls = controls,
        };
        return new A1111Plan(request, r.BatchSize, r.NIter, seed, subseed, applied, ignored, hires, controlParams);
    }

    /// <summary>"Euler a" / "k_euler_a" for an ancestral model, "Euler" / "k_euler" otherwise (case-insensitive).</summary>
    private static bool IsModelSampler(string requested, string modelSampler)
    {
        string r = requested.Trim();
        if (r.Equals(modelSampler, StringComparison.OrdinalIgnoreCase)) return true;
        string alias = "k_" + modelSampler.ToLowerInvariant().Replace(' ', '_');
        return r.Equals(alias, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary><c>override_settings.sd_model_checkpoint</c> must name the loaded model (404 otherwise, as A1111 answers "Model not found").</summary>
    private static void CheckModel(Dictionary<string, JsonElement>? settings, LoadedModelInfo model)
    {
        if (settings is null || !settings.TryGetValue("sd_model_checkpoint", out var value) || value.ValueKind == JsonValueKind.Null) return;
        string? name = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
        if (!string.IsNullOrEmpty(name) && !A1111Api.IsLoadedModel(name, model))
        {
            throw new ApiException(404, "model_not_found", $"Model not found: '{name}' (this server runs '{model.Id}').", "sd_model_checkpoint");
        }
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// The fields txt2img and img2img share, with AUTOMATIC1111's names and defaults — except <c>steps</c> (1) and
/// <c>cfg_scale</c> (1), which default to the turbo models' settings, and <c>width</c>/<c>height</c>, which default to
/// the model's native size. Unknown fields land in <see cref="Unknown"/> and are reported, not echoed (as pydantic drops them).
/// </summary>
public abstract class A1111GenerationRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; set; } = "";
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; set; } = "";
    [JsonPropertyName("styles")] public List<string>? Styles { get; set; }
    [JsonPropertyName("seed")] public long Seed { get; set; } = -1;
    [JsonPropertyName("subseed")] public long Subseed { get; set; } = -1;
    [JsonPropertyName("subseed_strength")] public float SubseedStrength { get; set; }
    [JsonPropertyName("seed_resize_from_h")] public int SeedResizeFromH { get; set; } = -1;
    [JsonPropertyName("seed_resize_from_w")] public int SeedResizeFromW { get; set; } = -1;
    [JsonPropertyName("sampler_name")] public string? SamplerName { get; set; }
    [JsonPropertyName("scheduler")] public string? Scheduler { get; set; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; set; } = 1;
    [JsonPropertyName("n_iter")] public int NIter { get; set; } = 1;
    [JsonPropertyName("steps")] public int Steps { get; set; } = 1;
    [JsonPropertyName("cfg_scale")] public float CfgScale { get; set; } = 1;
    [JsonPropertyName("width")] public int? Width { get; set; }
    [JsonPropertyName("height")] public int? Height { get; set; }
    [JsonPropertyName("restore_faces")] public bool? RestoreFaces { get; set; }
    [JsonPropertyName("tiling")] public bool? Tiling { get; set; }
    [JsonPropertyName("do_not_save_samples")] public bool DoNotSaveSamples { get; set; }
    [JsonPropertyName("do_not_save_grid")] public bool DoNotSaveGrid { get; set; }
    [JsonPropertyName("eta")] public float? Eta { get; set; }
    [JsonPropertyName("denoising_strength")] public float? DenoisingStrength { get; set; }
    [JsonPropertyName("s_min_uncond")] public float? SMinUncond { get; set; }
    [JsonPropertyName("s_churn")] public float? SChurn { get; set; }
    [JsonPropertyName("s_tmax")] public float? STmax { get; set; }
    [JsonPropertyName("s_tmin")] public float? STmin { get; set; }
    [JsonPropertyName("s_noise")] public float? SNoise { get; set; }
    [JsonPropertyName("override_settings")] public Dictionary<string, JsonElement>? OverrideSettings { get; set; }
    [JsonPropertyName("override_settings_restore_afterwards")] public bool OverrideSettingsRestoreAfterwards { get; set; } = true;
    [JsonPropertyName("refiner_checkpoint")] public string? RefinerCheckpoint { get; set; }
    [JsonPropertyName("refiner_switch_at")] public float? RefinerSwitchAt { get; set; }
    [JsonPropertyName("disable_extra_networks")] public bool DisableExtraNetworks { get; set; }
    [JsonPropertyName("comments")] public JsonElement? Comments { get; set; }
    [JsonPropertyName("sampler_index")] public string? SamplerIndex { get; set; }
    [JsonPropertyName("script_name")] public string? ScriptName { get; set; }
    [JsonPropertyName("script_args")] public List<JsonElement>? ScriptArgs { get; set; } = [];
    [JsonPropertyName("send_images")] public bool SendImages { get; set; } = true;
    [JsonPropertyName("save_images")] public bool SaveImages { get; set; }
    [JsonPropertyName("alwayson_scripts")] public Dictionary<string, JsonElement>? AlwaysonScripts { get; set; } = [];
    [JsonPropertyName("force_task_id")] public string? ForceTaskId { get; set; }
    [JsonPropertyName("infotext")] public string? Infotext { get; set; }

    /// <summary>Fields A1111 does not know either (reported in <c>info.turbogen_ignored</c>).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary><c>POST /sdapi/v1/txt2img</c> body: the shared fields plus the hires-fix fields (accepted, reported as ignored when enabled).</summary>
public sealed class A1111Txt2ImgRequest : A1111GenerationRequest
{
    [JsonPropertyName("enable_hr")] public bool EnableHr { get; set; }
    [JsonPropertyName("firstphase_width")] public int FirstphaseWidth { get; set; }
    [JsonPropertyName("firstphase_height")] public int FirstphaseHeight { get; set; }
    [JsonPropertyName("hr_scale")] public float HrScale { get; set; } = 2;
    [JsonPropertyName("hr_upscaler")] public string? HrUpscaler { get; set; }
    [JsonPropertyName("hr_second_pass_steps")] public int HrSecondPassSteps { get; set; }
    [JsonPropertyName("hr_resize_x")] public int HrResizeX { get; set; }
    [JsonPropertyName("hr_resize_y")] public int HrResizeY { get; set; }
    [JsonPropertyName("hr_checkpoint_name")] public string? HrCheckpointName { get; set; }
    [JsonPropertyName("hr_sampler_name")] public string? HrSamplerName { get; set; }
    [JsonPropertyName("hr_scheduler")] public string? HrScheduler { get; set; }
    [JsonPropertyName("hr_prompt")] public string? HrPrompt { get; set; } = "";
    [JsonPropertyName("hr_negative_prompt")] public string? HrNegativePrompt { get; set; } = "";
    [JsonPropertyName("firstpass_image")] public string? FirstpassImage { get; set; }
}

/// <summary><c>POST /sdapi/v1/img2img</c> body: the shared fields plus init images and the inpainting fields.</summary>
public sealed class A1111Img2ImgRequest : A1111GenerationRequest
{
    public A1111Img2ImgRequest() => DenoisingStrength = 0.75f;

    [JsonPropertyName("init_images")] public List<string>? InitImages { get; set; }
    [JsonPropertyName("resize_mode")] public int ResizeMode { get; set; }
    [JsonPropertyName("image_cfg_scale")] public float? ImageCfgScale { get; set; }
    [JsonPropertyName("mask")] public string? Mask { get; set; }
    [JsonPropertyName("mask_blur_x")] public int MaskBlurX { get; set; } = 4;
    [JsonPropertyName("mask_blur_y")] public int MaskBlurY { get; set; } = 4;
    [JsonPropertyName("mask_blur")] public int? MaskBlur { get; set; }
    [JsonPropertyName("mask_round")] public bool MaskRound { get; set; } = true;
    [JsonPropertyName("inpainting_fill")] public int InpaintingFill { get; set; }
    [JsonPropertyName("inpaint_full_res")] public bool InpaintFullRes { get; set; } = true;
    [JsonPropertyName("inpaint_full_res_padding")] public int InpaintFullResPadding { get; set; }
    [JsonPropertyName("inpainting_mask_invert")] public int InpaintingMaskInvert { get; set; }
    [JsonPropertyName("initial_noise_multiplier")] public float? InitialNoiseMultiplier { get; set; }
    [JsonPropertyName("latent_mask")] public string? LatentMask { get; set; }

    /// <summary>Echo the init images in <c>parameters</c> (excluded from the echo itself, as in A1111).</summary>
    [JsonPropertyName("include_init_images")] public bool IncludeInitImages { get; set; }
}

/// <summary>txt2img/img2img response: base64 PNGs (infotext embedded), the request echo, and <c>info</c> as a JSON string.</summary>
public sealed record A1111ImageResponse(
    [property: JsonPropertyName("images")] IReadOnlyList<string>? Images,
    [property: JsonPropertyName("parameters")] JsonElement Parameters,
    [property: JsonPropertyName("info")] string Info);

/// <summary>
/// The <c>info</c> JSON (A1111's <c>Processed.js()</c> keys) plus <c>turbogen_ignored</c>: every request field TurboGen
/// accepted but could not honour, with the reason, and <c>turbogen_prompt_truncated</c>.
/// </summary>
public sealed record A1111Info(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("all_prompts")] IReadOnlyList<string> AllPrompts,
    [property: JsonPropertyName("negative_prompt")] string NegativePrompt,
    [property: JsonPropertyName("all_negative_prompts")] IReadOnlyList<string> AllNegativePrompts,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("all_seeds")] IReadOnlyList<long> AllSeeds,
    [property: JsonPropertyName("subseed")] long Subseed,
    [property: JsonPropertyName("all_subseeds")] IReadOnlyList<long> AllSubseeds,
    [property: JsonPropertyName("subseed_strength")] float SubseedStrength,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("sampler_name")] string SamplerName,
    [property: JsonPropertyName("cfg_scale")] float CfgScale,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("restore_faces")] bool RestoreFaces,
    [property: JsonPropertyName("face_restoration_model")] string? FaceRestorationModel,
    [property: JsonPropertyName("sd_model_name")] string SdModelName,
    [property: JsonPropertyName("sd_model_hash")] string? SdModelHash,
    [property: JsonPropertyName("sd_vae_name")] string? SdVaeName,
    [property: JsonPropertyName("sd_vae_hash")] string? SdVaeHash,
    [property: JsonPropertyName("seed_resize_from_w")] int SeedResizeFromW,
    [property: JsonPropertyName("seed_resize_from_h")] int SeedResizeFromH,
    [property: JsonPropertyName("denoising_strength")] float? DenoisingStrength,
    [property: JsonPropertyName("extra_generation_params")] IReadOnlyDictionary<string, string> ExtraGenerationParams,
    [property: JsonPropertyName("index_of_first_image")] int IndexOfFirstImage,
    [property: JsonPropertyName("infotexts")] IReadOnlyList<string> Infotexts,
    [property: JsonPropertyName("styles")] IReadOnlyList<string> Styles,
    [property: JsonPropertyName("job_timestamp")] string JobTimestamp,
    [property: JsonPropertyName("clip_skip")] int ClipSkip,
    [property: JsonPropertyName("is_using_inpainting_conditioning")] bool IsUsingInpaintingConditioning,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("turbogen_ignored")] IReadOnlyDictionary<string, string> TurbogenIgnored,
    [property: JsonPropertyName("turbogen_prompt_truncated")] bool TurbogenPromptTruncated);

/// <summary><c>GET /sdapi/v1/progress</c> (A1111's ProgressResponse).</summary>
public sealed record A1111Progress(
    [property: JsonPropertyName("progress")] double Progress,
    [property: JsonPropertyName("eta_relative")] double EtaRelative,
    [property: JsonPropertyName("state")] A1111State State,
    [property: JsonPropertyName("current_image")] string? CurrentImage,
    [property: JsonPropertyName("textinfo")] string? TextInfo);

/// <summary>A1111's <c>shared.state.dict()</c>.</summary>
public sealed record A1111State(
    [property: JsonPropertyName("skipped")] bool Skipped,
    [property: JsonPropertyName("interrupted")] bool Interrupted,
    [property: JsonPropertyName("stopping_generation")] bool StoppingGeneration,
    [property: JsonPropertyName("job")] string Job,
    [property: JsonPropertyName("job_count")] int JobCount,
    [property: JsonPropertyName("job_timestamp")] string JobTimestamp,
    [property: JsonPropertyName("job_no")] int JobNo,
    [property: JsonPropertyName("sampling_step")] int SamplingStep,
    [property: JsonPropertyName("sampling_steps")] int SamplingSteps);

public sealed record A1111SdModel(
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("hash")] string? Hash,
    [property: JsonPropertyName("sha256")] string? Sha256,
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("config")] string? Config);

public sealed record A1111Sampler(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("options")] IReadOnlyDictionary<string, string> Options);

public sealed record A1111Scheduler(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string>? Aliases,
    [property: JsonPropertyName("default_rho")] float? DefaultRho,
    [property: JsonPropertyName("need_inner_model")] bool? NeedInnerModel);

public sealed record A1111PromptStyle(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("prompt")] string? Prompt,
    [property: JsonPropertyName("negative_prompt")] string? NegativePrompt);

/// <summary>A1111 error body (<c>api_middleware.handle_exception</c>); validation errors carry FastAPI's <c>detail</c> list.</summary>
public sealed record A1111Error(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("detail")] object Detail,
    [property: JsonPropertyName("body")] string? Body,
    [property: JsonPropertyName("errors")] string Errors);

/// <summary>One FastAPI validation error.</summary>
public sealed record A1111ValidationDetail(
    [property: JsonPropertyName("loc")] IReadOnlyList<string> Loc,
    [property: JsonPropertyName("msg")] string Msg,
    [property: JsonPropertyName("type")] string Type);

public static class A1111Json
{
    public static readonly JsonSerializerOptions Options = FiniteNumbers.With(new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    });
}

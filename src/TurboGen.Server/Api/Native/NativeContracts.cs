using System.Text.Json;
using System.Text.Json.Serialization;

namespace TurboGen.Server.Api.Native;

/// <summary><c>POST /api/generate</c>: everything the engine does. Text-to-image unless <see cref="InitImage"/> is set.</summary>
public sealed class NativeGenerateRequest
{
    [JsonPropertyName("prompt")] public string? Prompt { get; set; }
    [JsonPropertyName("negative_prompt")] public string? NegativePrompt { get; set; }
    [JsonPropertyName("width")] public int? Width { get; set; }
    [JsonPropertyName("height")] public int? Height { get; set; }
    [JsonPropertyName("steps")] public int Steps { get; set; } = 1;
    [JsonPropertyName("guidance_scale")] public float GuidanceScale { get; set; }
    /// <summary>Seed of image 0 (image i uses seed + i); null = random.</summary>
    [JsonPropertyName("seed")] public long? Seed { get; set; }
    /// <summary>Number of images (variants with consecutive seeds), 1–16.</summary>
    [JsonPropertyName("n")] public int N { get; set; } = 1;
    /// <summary>Base64 image or data URL: image-to-image.</summary>
    [JsonPropertyName("init_image")] public string? InitImage { get; set; }
    [JsonPropertyName("strength")] public float Strength { get; set; } = 0.5f;
    /// <summary>Inpainting mask (base64 image or data URL, the init image's size): white repaints, black keeps (luminance).</summary>
    [JsonPropertyName("mask")] public string? Mask { get; set; }
    /// <summary>Mask blur in pixels (Gaussian σ, 0–64); the result is feathered into the init image through it.</summary>
    [JsonPropertyName("mask_blur")] public int MaskBlur { get; set; }
    /// <summary>Repaint the black part of the mask instead.</summary>
    [JsonPropertyName("mask_invert")] public bool MaskInvert { get; set; }
    /// <summary>Inpaint only the mask's bounding box (plus padding) at width × height, then paste it back.</summary>
    [JsonPropertyName("inpaint_full_res")] public bool InpaintFullRes { get; set; }
    [JsonPropertyName("inpaint_full_res_padding")] public int InpaintFullResPadding { get; set; } = 32;
    /// <summary>How the masked area starts: original (default), fill, latent_noise or latent_nothing.</summary>
    [JsonPropertyName("inpainting_fill")] public string? InpaintingFill { get; set; }
    [JsonPropertyName("style")] public string? Style { get; set; }
    /// <summary>Decode with the tiny VAE (faster, lower quality); needs one loaded.</summary>
    [JsonPropertyName("tiny_vae")] public bool TinyVae { get; set; }
    [JsonPropertyName("output_format")] public string? OutputFormat { get; set; }
    /// <summary>JPEG/WebP quality 1–100.</summary>
    [JsonPropertyName("quality")] public int Quality { get; set; } = 90;
    /// <summary>Also save PNGs (with metadata) in the server's output folder.</summary>
    [JsonPropertyName("save")] public bool Save { get; set; }
    /// <summary>ControlNets steering the generation (<see cref="NativeControls"/>).</summary>
    [JsonPropertyName("controls")] public List<NativeControl?>? Controls { get; set; }
}

public sealed record NativeGenerateResponse(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("guidance_scale")] float GuidanceScale,
    [property: JsonPropertyName("sampler")] string Sampler,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("strength")] float? Strength,
    [property: JsonPropertyName("style")] string? Style,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("negative_prompt")] string NegativePrompt,
    [property: JsonPropertyName("prompt_truncated")] bool PromptTruncated,
    [property: JsonPropertyName("vae")] string Vae,
    [property: JsonPropertyName("seeds")] IReadOnlyList<long> Seeds,
    [property: JsonPropertyName("images")] IReadOnlyList<NativeImage> Images,
    [property: JsonPropertyName("timings")] NativeTimings Timings);

public sealed record NativeImage(
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("infotext")] string Infotext,
    [property: JsonPropertyName("saved_as"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SavedAs);

/// <summary>Milliseconds: time waiting in the queue, the whole request, the engine stages (ONNX Runtime share per stage), encoding.</summary>
public sealed record NativeTimings(
    [property: JsonPropertyName("queue_ms")] double QueueMs,
    [property: JsonPropertyName("generate_ms")] double GenerateMs,
    [property: JsonPropertyName("onnx_ms")] double OnnxMs,
    [property: JsonPropertyName("encode_ms")] double EncodeMs,
    [property: JsonPropertyName("total_ms")] double TotalMs,
    [property: JsonPropertyName("stages")] IReadOnlyList<NativeStage> Stages);

public sealed record NativeStage(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("ms")] double Ms,
    [property: JsonPropertyName("onnx_ms")] double OnnxMs);

/// <summary><c>GET /api/info</c>.</summary>
public sealed record NativeInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    [property: JsonPropertyName("model")] NativeModelInfo? Model,
    [property: JsonPropertyName("queue_depth")] int QueueDepth,
    [property: JsonPropertyName("auth_required")] bool AuthRequired,
    [property: JsonPropertyName("limits")] NativeLimits Limits,
    [property: JsonPropertyName("styles")] IReadOnlyList<string> Styles,
    [property: JsonPropertyName("apis")] IReadOnlyList<string> Apis);

public sealed record NativeModelInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("default_size")] int DefaultSize,
    [property: JsonPropertyName("sampler")] string Sampler,
    [property: JsonPropertyName("tiny_vae")] bool TinyVae,
    [property: JsonPropertyName("image_to_image")] bool ImageToImage)
{
    /// <summary>The ControlNets this server was started with that fit the model (names for <c>controls[].model</c>).</summary>
    [JsonPropertyName("controlnets")] public IReadOnlyList<string> ControlNets { get; init; } = [];
}

public sealed record NativeLimits(
    [property: JsonPropertyName("max_body_bytes")] long MaxBodyBytes,
    [property: JsonPropertyName("max_images")] int MaxImages,
    [property: JsonPropertyName("min_side")] int MinSide,
    [property: JsonPropertyName("max_side")] int MaxSide,
    [property: JsonPropertyName("side_multiple")] int SideMultiple,
    [property: JsonPropertyName("max_steps")] int MaxSteps,
    [property: JsonPropertyName("max_prompt_chars")] int MaxPromptChars,
    [property: JsonPropertyName("max_input_pixels")] long MaxInputPixels,
    [property: JsonPropertyName("max_input_side")] int MaxInputSide);

public static class NativeJson
{
    public static readonly JsonSerializerOptions Options = FiniteNumbers.With(new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
    });
}

using System.Text.Json.Serialization;
using TurboGen.Server.Api.Native;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Realtime.Protocol;

/// <summary>
/// A client message (text JSON, sent on every change): <c>{"type":"generate"|"variants", "requestId":17, "prompt", "negative",
/// "guidance", "seed", "steps", "width", "height", "style", "strength", "image", "mask", "maskBlur", "controls", "live", "refine", "keep", "format",
/// "count"}</c>, or <c>{"type":"upscale", "requestId", "image", "scale", "upscaler", "keep"}</c> (<see cref="LiveUpscaleRequest"/>). Only
/// <c>requestId</c> is required and it must increase; absent fields take the defaults of <see cref="LiveRequestParser"/>.
/// </summary>
public sealed record ClientMessage
{
    public string? Type { get; init; }
    public long? RequestId { get; init; }
    public string? Prompt { get; init; }
    public string? Negative { get; init; }

    /// <summary>Classifier-free guidance scale (0–50); above 1 the negative prompt is used, at about twice the model work.</summary>
    public double? Guidance { get; init; }

    public long? Seed { get; init; }
    public int? Steps { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public string? Style { get; init; }
    public double? Strength { get; init; }

    /// <summary>Init image or sketch: base64 or a base64 data URL.</summary>
    public string? Image { get; init; }

    /// <summary>Inpainting mask over <see cref="Image"/> (base64 or data URL, the image's size): white repaints, black keeps.</summary>
    public string? Mask { get; init; }

    /// <summary>Mask blur in pixels (Gaussian σ, 0–64, default 0); above 0 the result is pasted into the image through the blurred mask.</summary>
    public int? MaskBlur { get; init; }

    /// <summary>ControlNet units, exactly as <c>controls</c> of <c>POST /api/generate</c> (<see cref="NativeControls"/>; snake_case inside).</summary>
    public List<NativeControl?>? Controls { get; init; }

    public bool? Live { get; init; }
    public bool? Refine { get; init; }

    /// <summary>Keep the picture: refine it (full VAE) and save it in the client's history.</summary>
    public bool? Keep { get; init; }

    public string? Format { get; init; }
    public int? Count { get; init; }

    /// <summary>Upscale: the factor, 1–4 (default 2).</summary>
    public double? Scale { get; init; }

    /// <summary>Upscale: an upscaler from <c>GET /api/upscalers</c> (default: the server's, its first ESRGAN model, else Lanczos).</summary>
    public string? Upscaler { get; init; }
}

/// <summary>
/// Server → client on connect: the session, the model and the protocol's limits; <paramref name="HistoryMaxImages"/> and
/// <paramref name="HistoryMaxBytes"/> are how much this client's history keeps (0: no limit).
/// </summary>
public sealed record HelloMessage(string SessionId, string State, string? Model, bool? HasTinyVae, bool? ImageToImage, int? DefaultSize,
    int MaxSteps, double RefineDelayMs, int HistoryMaxImages, long HistoryMaxBytes)
{
    [JsonPropertyOrder(-1)] public string Type => "hello";
}

/// <summary>Server → client while the model loads (and once when it is ready).</summary>
public sealed record StatusMessage(string State, string? Error)
{
    [JsonPropertyOrder(-1)] public string Type => "status";
}

/// <summary>Server → client: a bad message or parameter (<paramref name="Field"/> names it); the socket stays open.</summary>
public sealed record ErrorMessage(long? RequestId, string Message, string? Field)
{
    [JsonPropertyOrder(-1)] public string Type => "error";
}

/// <summary>Server → client while an upscale runs: <paramref name="Done"/> of <paramref name="Total"/> tiles of the network (stage "upscale").</summary>
public sealed record ProgressMessage(long RequestId, string Stage, int Done, int Total)
{
    [JsonPropertyOrder(-1)] public string Type => "progress";
}

/// <summary>Server → client: the shared queue is full; retry after <paramref name="RetryAfterMs"/>.</summary>
public sealed record BusyMessage(long RequestId, long RetryAfterMs, string Message)
{
    [JsonPropertyOrder(-1)] public string Type => "busy";
}

/// <summary>The JSON header of a binary frame message.</summary>
public sealed record FrameHeader
{
    public string Type { get; init; } = "frame";
    public long RequestId { get; init; }
    public long Seed { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }

    /// <summary>"live" (tiny VAE, while typing), "refined" (full VAE: on a pause, or asked for), "variant" or "upscaled" (a PNG, with <see cref="Upscale"/>).</summary>
    public string Kind { get; init; } = FrameKinds.Live;

    /// <summary>Variants: the position in the grid.</summary>
    public int? Index { get; init; }

    public string Format { get; init; } = "jpeg";

    /// <summary>Refined frames answering a keep: the saved PNG's name (<c>GET /api/history/{file}</c>).</summary>
    public string? File { get; init; }

    public bool ImageToImage { get; init; }

    /// <summary>The prompt actually used (the style applied).</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The negative prompt actually used: empty unless guidance was on.</summary>
    public string Negative { get; init; } = "";

    /// <summary>The guidance scale when classifier-free guidance was on (scale &gt; 1), else null.</summary>
    public double? Guidance { get; init; }

    public bool PromptTruncated { get; init; }

    /// <summary>The ControlNet units used, as "preprocessor:model" (empty without controls).</summary>
    public IReadOnlyList<string> Controls { get; init; } = [];

    /// <summary>The picture was inpainted: only the request's mask was repainted.</summary>
    public bool Inpaint { get; init; }

    public FrameTimings Timings { get; init; } = new();

    /// <summary>From receiving the request to sending this frame, on the server.</summary>
    public double ElapsedMs { get; init; }

    /// <summary>Through a gateway (<c>serve --queue</c>): the worker that made the frame; null in one process.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Worker { get; init; }

    /// <summary>The session's previous worker, on the first frame after its worker changed (it died or left: fail-over).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PreviousWorker { get; init; }

    /// <summary>An upscaled frame: the upscaler, the size and the source's size (as a kept upscale's history entry).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UpscaleRecord? Upscale { get; init; }
}

/// <summary>The values of <see cref="FrameHeader.Kind"/>.</summary>
public static class FrameKinds
{
    public const string Live = "live", Refined = "refined", Variant = "variant", Upscaled = "upscaled";
}

/// <summary>Where a frame's time went: the model's stages, waiting in the queue, and image encoding.</summary>
public sealed record FrameTimings
{
    public Dictionary<string, double> Stages { get; init; } = [];

    /// <summary>Sum of the model stages (tokenize, encode, unet steps, decode).</summary>
    public double ModelMs { get; init; }

    /// <summary>Part of <see cref="ModelMs"/> inside ONNX Runtime.</summary>
    public double OnnxMs { get; init; }

    /// <summary>From submitting the job to the model worker starting it.</summary>
    public double QueueMs { get; init; }

    /// <summary>JPEG/WebP encoding.</summary>
    public double EncodeMs { get; init; }
}

/// <summary>System.Text.Json source generation for every protocol message (camelCase names, no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ClientMessage))]
[JsonSerializable(typeof(HelloMessage))]
[JsonSerializable(typeof(StatusMessage))]
[JsonSerializable(typeof(ErrorMessage))]
[JsonSerializable(typeof(BusyMessage))]
[JsonSerializable(typeof(ProgressMessage))]
[JsonSerializable(typeof(FrameHeader))]
public sealed partial class RealtimeJson : JsonSerializerContext;

using System.Text.Json.Serialization;
using TurboGen.Pipelines;
using TurboGen.Upscaling;

namespace TurboGen.Server.Scaling;

/// <summary>What a queued job asks the worker to do (the field <c>kind</c> of a job entry).</summary>
public static class JobKinds
{
    public const string Generate = "generate", Hires = "hires", Decode = "decode", Upscale = "upscale";
}

/// <summary>The kind of a reply entry on a gateway's reply stream.</summary>
public static class ReplyKinds
{
    public const string Started = "started", Progress = "progress", Result = "result", Failed = "failed", Cancelled = "cancelled";
}

/// <summary>The arguments of a job beyond its request: the upscaler by name, the target size, hires options, the VAE to decode with.</summary>
public sealed record JobArgs(
    [property: JsonPropertyName("upscaler")] string? Upscaler = null,
    [property: JsonPropertyName("width")] int Width = 0,
    [property: JsonPropertyName("height")] int Height = 0,
    [property: JsonPropertyName("hires")] HiresOptions? Hires = null,
    [property: JsonPropertyName("tiny_vae")] bool TinyVae = false);

/// <summary>A progress event on the wire (the preview, when there is one, travels as the entry's <c>preview</c> blob field).</summary>
public sealed record WireProgress(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("step")] int Step,
    [property: JsonPropertyName("total")] int TotalSteps,
    [property: JsonPropertyName("elapsed_ms")] double ElapsedMilliseconds);

/// <summary>A generation result on the wire, without its request (the gateway has it) and images (blob fields image0…, latents).</summary>
public sealed record WireResult(
    [property: JsonPropertyName("seeds")] IReadOnlyList<long> Seeds,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("prompt_truncated")] bool PromptTruncated,
    [property: JsonPropertyName("sampler")] string Sampler,
    [property: JsonPropertyName("timings")] IReadOnlyList<StageTiming> Timings,
    [property: JsonPropertyName("images")] int Images,
    [property: JsonPropertyName("run_ms")] double RunMilliseconds);

/// <summary>A failure on the wire: an invalid request names its field, anything else is an engine error.</summary>
public sealed record WireFailure(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("parameter")] string? Parameter);

/// <summary>What a worker tells about itself (its heartbeat hash) and the model it serves (the model hash).</summary>
public sealed record WorkerInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("provider")] string Provider,
    [property: JsonPropertyName("busy")] bool Busy,
    [property: JsonPropertyName("jobs")] long Jobs,
    [property: JsonPropertyName("job_ms")] double JobMilliseconds,
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("age_ms")] double AgeMilliseconds)
{
    /// <summary>The ControlNets it has loaded that fit the model (jobs naming one are routed to a worker that has it).</summary>
    [JsonPropertyName("controlnets")] public IReadOnlyList<WireControlNet>? ControlNets { get; init; }

    /// <summary>Its ESRGAN upscalers (Lanczos is everywhere and not listed).</summary>
    [JsonPropertyName("upscalers")] public IReadOnlyList<WireUpscaler>? Upscalers { get; init; }
}

/// <summary>The model facts a gateway needs to validate and describe requests without loading the model.</summary>
public sealed record WireModelInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("default_size")] int DefaultSize,
    [property: JsonPropertyName("tiny_vae")] bool HasTinyVae,
    [property: JsonPropertyName("vae_encoder")] bool HasVaeEncoder,
    [property: JsonPropertyName("sampler")] string Sampler,
    [property: JsonPropertyName("names")] IReadOnlyList<string> Names,
    [property: JsonPropertyName("upscalers")] IReadOnlyList<string> Upscalers,
    [property: JsonPropertyName("guidance_embedding")] bool GuidanceEmbedding = false);

[JsonSerializable(typeof(WireRequest))]
[JsonSerializable(typeof(JobArgs))]
[JsonSerializable(typeof(WireProgress))]
[JsonSerializable(typeof(WireResult))]
[JsonSerializable(typeof(WireFailure))]
[JsonSerializable(typeof(WorkerInfo))]
[JsonSerializable(typeof(WireModelInfo))]
[JsonSerializable(typeof(List<WorkerInfo>))]
internal sealed partial class ScalingJson : JsonSerializerContext;

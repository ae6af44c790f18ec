using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Tensors;
using TurboGen.Upscaling;

namespace TurboGen.Server.Generation;

/// <summary>Facts about the loaded model that the APIs report.</summary>
public sealed record LoadedModelInfo(string Id, ModelFamily Family, int DefaultSize, bool HasTinyVae, bool HasVaeEncoder, string Sampler)
{
    /// <summary>
    /// The UNet takes the guidance scale as an embedding (<c>timestep_cond</c>, LCM-distilled) and runs no classifier-free
    /// guidance, so a negative prompt plays no part in its pictures (<see cref="TurboGen.Runtime.Unet.UsesGuidanceEmbedding"/>).
    /// </summary>
    public bool GuidanceEmbedding { get; init; }

    /// <summary>Every name the model answers to, <see cref="Id"/> first (<see cref="Policy.ModelNames"/>).</summary>
    public IReadOnlyList<string> Names { get; init; } = [Id];

    /// <summary>True when <paramref name="name"/> is one of <see cref="Names"/> (trimmed, any case, an A1111 " [hash]" ignored).</summary>
    public bool AnswersTo(string? name) => Policy.ModelNames.Matches(name, Names);
}

/// <summary>The queue is full: callers answer "busy" / HTTP 429 with Retry-After.</summary>
public sealed class ServerBusyException(int queueDepth, TimeSpan retryAfter)
    : TurboGenException($"The server is busy ({queueDepth} jobs queued). Retry after {retryAfter.TotalSeconds.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} s.")
{
    public int QueueDepth { get; } = queueDepth;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The generation service cannot take or finish jobs now (e.g. the job queue's Redis is unreachable): callers answer
/// HTTP 503 with Retry-After and a JSON error naming <see cref="Code"/>.
/// </summary>
public sealed class ServiceUnavailableException(string code, string message, TimeSpan retryAfter, Exception? inner = null) : TurboGenException(message, inner)
{
    public string Code { get; } = code;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The one model worker every front end (WebSocket sessions, OpenAI, A1111 and native APIs) submits to.
/// Work is queued per session and served round-robin across sessions with pending work; the queue is bounded.
/// Cancelling a job's token removes it from the queue, or terminates it if it is running.
/// </summary>
public interface IGenerationService
{
    LoadedModelInfo Model { get; }

    /// <summary>Jobs waiting (not counting the running one).</summary>
    int QueueDepth { get; }

    /// <summary>The running job, or null when idle.</summary>
    GenerationJob? Current { get; }

    /// <summary>
    /// Queues a generation for <paramref name="sessionKey"/>; throws <see cref="ServerBusyException"/> at once when the queue
    /// is full. <paramref name="observer"/> is subscribed to <see cref="GenerationJob.ProgressChanged"/> before the job can
    /// start, for observers that must see every event (it runs on the worker thread).
    /// </summary>
    GenerationJob<GenerationResult> Submit(string sessionKey, GenerationRequest request, CancellationToken cancellationToken,
        Action<GenerationJob, GenerationProgress>? observer = null);

    /// <summary>Queues a decode of latents (e.g. refine a live frame with the full VAE without re-running the UNet).</summary>
    GenerationJob<IReadOnlyList<RgbImage>> SubmitDecode(string sessionKey, FloatTensor latents, bool tinyVae, CancellationToken cancellationToken);

    /// <summary>
    /// Queues an upscale of <paramref name="image"/> to <paramref name="width"/>×<paramref name="height"/> on the model thread (one heavy
    /// job at a time bounds memory), then, with <paramref name="refine"/>, its refinement by image-to-image (<see cref="HiresRefine.Refine"/>).
    /// A tiled upscaler's tiles are progress events of stage <see cref="GenerationWorker.UpscaleTileStage"/>, which <paramref name="observer"/> sees all of.
    /// </summary>
    GenerationJob<RgbImage> SubmitUpscale(string sessionKey, RgbImage image, IUpscaler upscaler, int width, int height, CancellationToken cancellationToken,
        HiresOptions? refine = null, Action<GenerationJob, GenerationProgress>? observer = null);

    /// <summary>Queues a text-to-image generation followed by a hires fix (<see cref="HiresRefine.HiresFix"/>) to <paramref name="width"/>×<paramref name="height"/>.</summary>
    GenerationJob<GenerationResult> SubmitHires(string sessionKey, GenerationRequest request, IUpscaler upscaler, int width, int height, HiresOptions hires,
        CancellationToken cancellationToken, Action<GenerationJob, GenerationProgress>? observer = null);

    /// <summary>Cancels the running job (A1111's /interrupt). Returns false when idle.</summary>
    bool InterruptCurrent();
}

/// <summary>Session keys: a live (WebSocket) session's key starts with <see cref="LivePrefix"/>; a job queue keeps such sessions on one worker.</summary>
public static class SessionKeys
{
    public const string LivePrefix = "rt-";

    public static bool IsLive(string sessionKey) => sessionKey.StartsWith(LivePrefix, StringComparison.Ordinal);
}

/// <summary>Shortcuts for submitters that only want the outcome.</summary>
public static class GenerationServiceExtensions
{
    /// <summary>Submits a generation and awaits its result (<see cref="ServerBusyException"/> is thrown before any await).</summary>
    public static Task<GenerationResult> GenerateAsync(this IGenerationService service, string sessionKey, GenerationRequest request, CancellationToken cancellationToken) =>
        service.Submit(sessionKey, request, cancellationToken).Result;
}

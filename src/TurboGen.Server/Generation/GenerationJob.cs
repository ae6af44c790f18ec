using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Server.Generation;

/// <summary>
/// A job submitted to the model worker, as its submitter sees it: when it was queued, started and finished, its latest
/// progress (and preview), and its outcome. <see cref="Started"/> completes when the worker takes the job (it is
/// cancelled if the job leaves the queue without running); <see cref="GenerationJob{T}.Result"/> completes with the
/// result, the failure, or cancellation. Times come from the worker's <see cref="TimeProvider"/>.
/// </summary>
public abstract class GenerationJob
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private GenerationProgress? _progress;
    private RgbImage? _preview;
    private long _startedTicks = -1, _finishedTicks = -1;

    private protected GenerationJob(string sessionKey, DateTimeOffset queuedAt)
    {
        SessionKey = sessionKey;
        QueuedAt = queuedAt;
    }

    /// <summary>The fair-queue session the job was submitted under.</summary>
    public string SessionKey { get; }

    public DateTimeOffset QueuedAt { get; }

    public DateTimeOffset? StartedAt => Ticks(ref _startedTicks);

    public DateTimeOffset? FinishedAt => Ticks(ref _finishedTicks);

    /// <summary>Completes when the worker starts the job; cancelled when it never runs.</summary>
    public Task Started => _started.Task;

    /// <summary>True from the moment the worker starts the job until it finishes.</summary>
    public bool IsRunning => StartedAt is not null && FinishedAt is null;

    /// <summary>Time spent waiting in the queue (null until the job starts).</summary>
    public TimeSpan? QueueTime => StartedAt - QueuedAt;

    /// <summary>The queue worker that ran the job (<c>serve --queue</c>; null in one process).</summary>
    public string? Worker { get; internal set; }

    /// <summary>The latest progress event (null before the first one).</summary>
    public GenerationProgress? Progress => Volatile.Read(ref _progress);

    /// <summary>The latest preview image any progress event carried (x0 estimate through the tiny VAE), or null.</summary>
    public RgbImage? Preview => Volatile.Read(ref _preview);

    /// <summary>Raised on the worker thread for every progress event; handlers must be quick (they hold the model).</summary>
    public event Action<GenerationJob, GenerationProgress>? ProgressChanged;

    internal void MarkStarted(DateTimeOffset now)
    {
        Volatile.Write(ref _startedTicks, now.UtcTicks);
        _started.TrySetResult();
    }

    internal void MarkFinished(DateTimeOffset now) => Volatile.Write(ref _finishedTicks, now.UtcTicks);

    internal void MarkNeverStarted() => _started.TrySetCanceled();

    internal void Report(GenerationProgress progress)
    {
        if (progress.Preview is { } preview) Volatile.Write(ref _preview, preview);
        Volatile.Write(ref _progress, progress);
        ProgressChanged?.Invoke(this, progress);
    }

    internal abstract object Run(CancellationToken cancellationToken);

    internal abstract void Complete(object result);

    internal abstract void Fail(Exception error);

    internal abstract void Cancel(CancellationToken token);

    private static DateTimeOffset? Ticks(ref long ticks)
    {
        long value = Volatile.Read(ref ticks);
        return value < 0 ? null : new DateTimeOffset(value, TimeSpan.Zero);
    }
}

/// <summary>A <see cref="GenerationJob"/> with its typed result.</summary>
public sealed class GenerationJob<T> : GenerationJob where T : class
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<GenerationJob, CancellationToken, T> _work;

    internal GenerationJob(string sessionKey, DateTimeOffset queuedAt, Func<GenerationJob, CancellationToken, T> work) : base(sessionKey, queuedAt) =>
        _work = work;

    /// <summary>The outcome: the result, the failure, or cancellation (superseded, disconnected, interrupted, shut down).</summary>
    public Task<T> Result => _result.Task;

    internal override object Run(CancellationToken cancellationToken) => _work(this, cancellationToken);

    internal override void Complete(object result) => _result.TrySetResult((T)result);

    internal override void Fail(Exception error) => _result.TrySetException(error);

    internal override void Cancel(CancellationToken token)
    {
        MarkNeverStarted();
        _result.TrySetCanceled(token);
    }
}

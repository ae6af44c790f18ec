namespace TurboGen.Server.Realtime;

/// <summary>What kind of job a session runs on the model worker.</summary>
public enum LiveRunKind { Generate, Variants, Refine }

/// <summary>What a session's processing loop does next (see <see cref="LiveFramePolicy{TShown}.Next"/>).</summary>
public enum LiveActionKind { Run, Refine, Wait }

/// <summary>A wanted request and when it arrived (timestamp of the policy's clock).</summary>
public sealed record Wanted(LiveRequest Request, long ReceivedAt);

/// <summary>The picture on screen: the session's payload, and the refine-on-pause schedule of the policy.</summary>
public sealed class ShownPicture<TShown>(string key, TShown payload, DateTimeOffset refineAt)
{
    public string Key { get; } = key;
    public TShown Payload { get; } = payload;
    public DateTimeOffset RefineAt { get; internal set; } = refineAt;

    /// <summary>A refine was taken (running, done, or failed): it is not taken again unless re-armed.</summary>
    public bool RefineTaken { get; internal set; }

    public bool Refined { get; internal set; }
}

/// <summary>The next action: run <see cref="Wanted"/>, refine <see cref="Shown"/>, or wait (<see cref="Wait"/>; infinite = until woken).</summary>
public readonly record struct LiveAction<TShown>(LiveActionKind Kind, Wanted? Wanted, ShownPicture<TShown>? Shown, TimeSpan Wait);

/// <summary>One job of the session on the model worker, registered with the policy so newer input can cancel it.</summary>
public sealed class LiveRun(LiveRunKind kind, CancellationTokenSource cancellation)
{
    public LiveRunKind Kind { get; } = kind;
    public bool Started { get; internal set; }

    internal void Cancel()
    {
        try { cancellation.Cancel(); } catch (ObjectDisposedException) { }
    }
}

/// <summary>
/// The real-time session's scheduling rules, with no sockets, model or threads of its own (driven by a
/// <see cref="TimeProvider"/>, so it is unit-tested with a fake clock):
/// <list type="bullet">
/// <item><b>Latest wins</b>: only the newest wanted "generate" and the newest "variants" are kept; a newer generate
/// cancels the running job (a newer variants request only running variants), and every superseded frame is counted as dropped.</item>
/// <item><b>Anti-starvation</b>: while typing faster than a job runs, cancelling every superseded job would never show a
/// frame; so a generate job that the worker has already started may finish when the last frame shown is older than twice
/// the session's typical job time (the picture keeps following, a little behind).</item>
/// <item><b>Refine on pause</b>: when no input arrives for the refine delay after a picture is shown, the picture is
/// refined once. A refine that is taken is never retried by itself — a failure stays failed until new input re-arms it;
/// only a full queue reschedules it, after the queue's Retry-After.</item>
/// </list>
/// Thread-safe: the receive loop calls <see cref="Accept"/>, the processing loop the rest.
/// </summary>
public sealed class LiveFramePolicy<TShown>(TimeSpan refineDelay, TimeProvider clock, Action? onFrameDropped = null)
{
    private readonly object _lock = new();
    private Wanted? _pendingGenerate, _pendingVariants;
    private LiveRun? _running;
    private ShownPicture<TShown>? _shown;
    private long _lastFrameAt = clock.GetTimestamp();
    private double _typicalJobMs;

    public TimeSpan RefineDelay => refineDelay;

    /// <summary>The typical (smoothed) model time of a generate job, 0 before the first.</summary>
    public double TypicalJobMs { get { lock (_lock) return _typicalJobMs; } }

    /// <summary>Records a newly received request; cancels the running job it supersedes (see the class summary).</summary>
    public Wanted Accept(LiveRequest request)
    {
        var wanted = new Wanted(request, clock.GetTimestamp());
        lock (_lock)
        {
            if (request.Kind == LiveRequestKind.Variants)
            {
                _pendingVariants = wanted;
                if (_running is { Kind: LiveRunKind.Variants } variants) variants.Cancel();
            }
            else
            {
                if (_pendingGenerate is not null) onFrameDropped?.Invoke();
                _pendingGenerate = wanted;
                if (_running is { } run && !(run.Kind == LiveRunKind.Generate && MayFinish(run))) run.Cancel();
            }
        }
        return wanted;
    }

    /// <summary>The next action: the newest wanted generate, else variants, else a due refine, else wait.</summary>
    public LiveAction<TShown> Next()
    {
        lock (_lock)
        {
            var next = _pendingGenerate ?? _pendingVariants;
            if (next is not null)
            {
                if (next == _pendingGenerate) _pendingGenerate = null;
                else _pendingVariants = null;
                return new LiveAction<TShown>(LiveActionKind.Run, next, null, TimeSpan.Zero);
            }
            if (_shown is { Refined: false, RefineTaken: false } shown)
            {
                var wait = shown.RefineAt - clock.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    shown.RefineTaken = true;
                    return new LiveAction<TShown>(LiveActionKind.Refine, null, shown, TimeSpan.Zero);
                }
                return new LiveAction<TShown>(LiveActionKind.Wait, null, null, wait);
            }
            return new LiveAction<TShown>(LiveActionKind.Wait, null, null, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Registers a job about to be submitted as the running one. Returns null (counting a dropped frame for generate
    /// jobs) when newer input of the same kind arrived since it was taken.
    /// </summary>
    public LiveRun? BeginRun(LiveRunKind kind, CancellationTokenSource cancellation)
    {
        lock (_lock)
        {
            bool superseded = kind == LiveRunKind.Variants ? _pendingVariants is not null : _pendingGenerate is not null;
            if (superseded)
            {
                if (kind == LiveRunKind.Generate) onFrameDropped?.Invoke();
                return null;
            }
            return _running = new LiveRun(kind, cancellation);
        }
    }

    /// <summary>The worker started the run's job (from then on the anti-starvation rule may let it finish).</summary>
    public void RunStarted(LiveRun run)
    {
        lock (_lock) run.Started = true;
    }

    /// <summary>The run ended; <paramref name="cancelled"/> counts a superseded generate as a dropped frame.</summary>
    public void EndRun(LiveRun run, bool cancelled)
    {
        lock (_lock)
        {
            if (_running == run) _running = null;
        }
        if (cancelled && run.Kind == LiveRunKind.Generate) onFrameDropped?.Invoke();
    }

    /// <summary>A generate job finished in <paramref name="modelMs"/> of model time (smoothed into the typical job time).</summary>
    public void JobTime(double modelMs)
    {
        lock (_lock) _typicalJobMs = _typicalJobMs == 0 ? modelMs : 0.7 * _typicalJobMs + 0.3 * modelMs;
    }

    /// <summary>A live or refined frame was sent now (variants do not count: they are not the picture).</summary>
    public void FrameSent()
    {
        lock (_lock) _lastFrameAt = clock.GetTimestamp();
    }

    /// <summary>A new picture is on screen; it will be refined after the refine delay unless input arrives.</summary>
    public ShownPicture<TShown> Show(string key, TShown payload)
    {
        var shown = new ShownPicture<TShown>(key, payload, clock.GetUtcNow() + refineDelay);
        lock (_lock) _shown = shown;
        return shown;
    }

    /// <summary>The picture on screen if it is the one <paramref name="key"/> describes, else null.</summary>
    public ShownPicture<TShown>? ShownFor(string key)
    {
        lock (_lock) return _shown is { } shown && shown.Key == key ? shown : null;
    }

    /// <summary>The same picture was asked for again while typing: restart its pause (and allow a refine again).</summary>
    public void Rearm(ShownPicture<TShown> shown)
    {
        lock (_lock)
        {
            shown.RefineAt = clock.GetUtcNow() + refineDelay;
            shown.RefineTaken = false;
        }
    }

    /// <summary>A refine is taken now (the Enter key or a non-live request) rather than by <see cref="Next"/>.</summary>
    public void TakeRefine(ShownPicture<TShown> shown)
    {
        lock (_lock) shown.RefineTaken = true;
    }

    public void RefineDone(ShownPicture<TShown> shown)
    {
        lock (_lock) shown.Refined = true;
    }

    /// <summary>The queue was full: try the refine again after <paramref name="retryAfter"/> (the only rescheduled failure).</summary>
    public void RefineBusy(ShownPicture<TShown> shown, TimeSpan retryAfter)
    {
        lock (_lock)
        {
            shown.RefineAt = clock.GetUtcNow() + retryAfter;
            shown.RefineTaken = false;
        }
    }

    /// <summary>The session closed: drop everything.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _pendingGenerate = _pendingVariants = null;
            _shown = null;
        }
    }

    private bool MayFinish(LiveRun run) =>
        run.Started && _typicalJobMs > 0 && clock.GetElapsedTime(_lastFrameAt).TotalMilliseconds > 2 * _typicalJobMs;
}

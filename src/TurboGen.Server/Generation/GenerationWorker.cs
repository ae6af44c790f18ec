using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Tensors;
using TurboGen.Upscaling;

namespace TurboGen.Server.Generation;

/// <summary>
/// One worker thread owns the model. Jobs wait in per-session FIFO queues; the worker takes the next job from the
/// session at the head of a rotation and moves that session to the tail (round-robin across sessions with pending
/// work), so one busy client cannot starve another; who may queue when it is full is decided fairly per session by
/// <see cref="FairAdmission"/> (per-client quota, every client admitted once, Retry-After from the measured job time). A job whose token is cancelled leaves the queue at once; a
/// running job is cancelled between steps and inside ONNX Runtime runs (run termination).
/// </summary>
public sealed class GenerationWorker : IGenerationService, IDisposable
{
    private readonly TurboPipeline _pipeline;
    private readonly TimeProvider _clock;
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedList<Entry>> _queues = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _rotation = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _thread;
    private readonly FairAdmission _admission;
    private int _queued;
    private GenerationJob? _current;
    private CancellationTokenSource? _runningCts;

    /// <param name="names">Every name the model answers to (<see cref="Policy.ModelNames"/>); default: <paramref name="modelId"/> alone.</param>
    /// <param name="initialJobTime">A measured job time (the warm-up run) to compute Retry-After from until jobs are measured.</param>
    public GenerationWorker(TurboPipeline pipeline, string modelId, int capacity = 32, ServerMetrics? metrics = null, TimeProvider? clock = null,
        IReadOnlyList<string>? names = null, TimeSpan? initialJobTime = null)
    {
        _pipeline = pipeline;
        _clock = clock ?? TimeProvider.System;
        _admission = new FairAdmission(capacity, initialJobTime);
        Metrics = metrics ?? new ServerMetrics();
        var m = pipeline.Model;
        Model = new LoadedModelInfo(modelId, m.Family, m.DefaultSize, m.TinyVaeDecoder is not null, m.VaeEncoder is not null, pipeline.SamplerName)
        {
            Names = names is { Count: > 0 } ? names : [modelId],
            GuidanceEmbedding = m.Unet.UsesGuidanceEmbedding,
        };
        _thread = new Thread(Loop) { IsBackground = true, Name = "turbogen-model-worker" };
        _thread.Start();
    }

    public LoadedModelInfo Model { get; }
    public ServerMetrics Metrics { get; }
    public TurboPipeline Pipeline => _pipeline;

    /// <summary>The progress stage of an upscale's tiles: <see cref="GenerationProgress.Step"/> tiles of <see cref="GenerationProgress.TotalSteps"/> done.</summary>
    public const string UpscaleTileStage = "upscale.tile";
    public int QueueDepth { get { lock (_lock) return _queued; } }
    public GenerationJob? Current => Volatile.Read(ref _current);

    /// <summary>The smoothed time the worker takes per job, from which Retry-After is computed (<see cref="FairAdmission"/>).</summary>
    public TimeSpan JobTime { get { lock (_lock) return _admission.JobTime; } }

    /// <summary>Number of jobs that actually ran (tests use it to prove superseded work was skipped).</summary>
    public int JobsRun => Volatile.Read(ref _jobsRun);
    private int _jobsRun;

    public GenerationJob<GenerationResult> Submit(string sessionKey, GenerationRequest request, CancellationToken cancellationToken,
        Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue(sessionKey, cancellationToken, (job, ct) => _pipeline.Generate(request, new ProgressSink(job), ct), observer);

    public GenerationJob<IReadOnlyList<RgbImage>> SubmitDecode(string sessionKey, FloatTensor latents, bool tinyVae, CancellationToken cancellationToken) =>
        Enqueue(sessionKey, cancellationToken, (_, ct) => _pipeline.Decode(latents, tinyVae, new StageTimings(), ct), null);

    public GenerationJob<RgbImage> SubmitUpscale(string sessionKey, RgbImage image, IUpscaler upscaler, int width, int height, CancellationToken cancellationToken,
        HiresOptions? refine = null, Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue(sessionKey, cancellationToken, (job, ct) =>
        {
            var upscaled = upscaler.Upscale(image, width, height, ct, new TileProgress(job, _clock));
            return refine is null ? upscaled : HiresRefine.Refine(_pipeline, upscaled, refine, ct);
        }, observer);

    public GenerationJob<GenerationResult> SubmitHires(string sessionKey, GenerationRequest request, IUpscaler upscaler, int width, int height, HiresOptions hires,
        CancellationToken cancellationToken, Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue(sessionKey, cancellationToken, (job, ct) => HiresRefine.HiresFix(_pipeline, request, upscaler, width, height, hires, new ProgressSink(job), ct), observer);

    public bool InterruptCurrent()
    {
        var cts = Volatile.Read(ref _runningCts);
        if (cts is null) return false;
        try { cts.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    private GenerationJob<T> Enqueue<T>(string sessionKey, CancellationToken cancellationToken, Func<GenerationJob, CancellationToken, T> work,
        Action<GenerationJob, GenerationProgress>? observer) where T : class
    {
        cancellationToken.ThrowIfCancellationRequested();
        var job = new GenerationJob<T>(sessionKey, _clock.GetUtcNow(), work);
        if (observer is not null) job.ProgressChanged += observer;
        var entry = new Entry(job, cancellationToken);
        lock (_lock)
        {
            _queues.TryGetValue(sessionKey, out var queue);
            if (_admission.Admit(queue?.Count ?? 0, _queued, _queues.Count) is { } retryAfter)
            {
                Metrics.Rejected();
                throw new ServerBusyException(_queued, retryAfter);
            }
            if (queue is null)
            {
                _queues[sessionKey] = queue = new LinkedList<Entry>();
            }
            entry.Node = queue.AddLast(entry);
            if (queue.Count == 1) _rotation.AddLast(sessionKey);
            _queued++;
            Metrics.SetQueueDepth(_queued);
        }
        entry.Registration = cancellationToken.Register(() => RemoveQueued(entry));
        _signal.Release();
        return job;
    }

    private void RemoveQueued(Entry entry)
    {
        lock (_lock)
        {
            if (entry.Node?.List is not { } list) return; // already taken by the worker, which handles the cancellation
            list.Remove(entry.Node);
            entry.Node = null;
            _queued--;
            Metrics.SetQueueDepth(_queued);
            if (list.Count == 0)
            {
                _queues.Remove(entry.Job.SessionKey);
                _rotation.Remove(entry.Job.SessionKey);
            }
        }
        entry.Job.Cancel(entry.Token);
    }

    private Entry? Next()
    {
        lock (_lock)
        {
            while (_rotation.First is { } head)
            {
                string session = head.Value;
                _rotation.RemoveFirst();
                var queue = _queues[session];
                var entry = queue.First!.Value;
                queue.RemoveFirst();
                entry.Node = null;
                _queued--;
                Metrics.SetQueueDepth(_queued);
                if (queue.Count > 0) _rotation.AddLast(session);
                else _queues.Remove(session);
                return entry;
            }
            return null;
        }
    }

    private void Loop()
    {
        while (!_shutdown.IsCancellationRequested)
        {
            try
            {
                _signal.Wait(_shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var entry = Next();
            if (entry is null) continue;
            entry.Registration.Dispose();
            var job = entry.Job;
            if (entry.Token.IsCancellationRequested)
            {
                job.Cancel(entry.Token);
                continue;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(entry.Token, _shutdown.Token);
            Volatile.Write(ref _runningCts, cts);
            Volatile.Write(ref _current, job);
            job.MarkStarted(_clock.GetUtcNow());
            long started = _clock.GetTimestamp();
            try
            {
                Interlocked.Increment(ref _jobsRun);
                var result = job.Run(cts.Token);
                job.MarkFinished(_clock.GetUtcNow());
                Metrics.JobCompleted(_clock.GetElapsedTime(started), result as GenerationResult);
                job.Complete(result);
            }
            catch (OperationCanceledException)
            {
                job.MarkFinished(_clock.GetUtcNow());
                Metrics.JobCancelled();
                job.Cancel(cts.Token);
            }
            catch (Exception e)
            {
                job.MarkFinished(_clock.GetUtcNow());
                Metrics.JobFailed();
                job.Fail(e);
            }
            finally
            {
                Volatile.Write(ref _runningCts, null);
                Volatile.Write(ref _current, null);
                lock (_lock) _admission.JobDone(_clock.GetElapsedTime(started));
            }
        }
        // Cancel whatever is still queued at shutdown.
        lock (_lock)
        {
            foreach (var entry in _queues.Values.SelectMany(q => q))
            {
                entry.Job.Cancel(CancellationToken.None);
            }
            _queues.Clear();
            _rotation.Clear();
            _queued = 0;
        }
    }

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _shutdown.Cancel();
        InterruptCurrent();
        _thread.Join(TimeSpan.FromSeconds(30));
        _shutdown.Dispose();
        _signal.Dispose();
    }

    /// <summary>A queued job with the submitter's token and its place in its session's queue.</summary>
    private sealed class Entry(GenerationJob job, CancellationToken token)
    {
        public GenerationJob Job { get; } = job;
        public CancellationToken Token { get; } = token;
        public LinkedListNode<Entry>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
    }

    /// <summary>The pipeline's progress events land on the job handle.</summary>
    private sealed class ProgressSink(GenerationJob job) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => job.Report(value);
    }

    /// <summary>A tiled upscaler's tiles land on the job handle as <see cref="UpscaleTileStage"/> progress (step = tiles done).</summary>
    private sealed class TileProgress(GenerationJob job, TimeProvider clock) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) =>
            job.Report(new GenerationProgress(UpscaleTileStage, value.Done, value.Total, clock.GetUtcNow() - (job.StartedAt ?? clock.GetUtcNow())));
    }
}

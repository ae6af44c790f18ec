using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Tensors;

namespace TurboGen.Server.Generation;

/// <summary>
/// One worker thread owns the model. Jobs wait in per-session FIFO queues; the worker takes the next job from the
/// session at the head of a rotation and moves that session to the tail (round-robin across sessions with pending
/// work), so one busy client cannot starve another. A job whose token is cancelled leaves the queue at once; a
/// running job is cancelled between steps and inside ONNX Runtime runs (run termination).
/// </summary>
public sealed class GenerationWorker : IGenerationService, IDisposable
{
    private readonly TurboPipeline _pipeline;
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedList<Job>> _queues = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _rotation = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _thread;
    private readonly int _capacity;
    private int _queued;
    private CurrentJobStatus? _current;
    private CancellationTokenSource? _runningCts;

    public GenerationWorker(TurboPipeline pipeline, string modelId, int capacity = 32, ServerMetrics? metrics = null)
    {
        _pipeline = pipeline;
        _capacity = capacity;
        Metrics = metrics ?? new ServerMetrics();
        var m = pipeline.Model;
        Model = new LoadedModelInfo(modelId, m.Family, m.DefaultSize, m.TinyVaeDecoder is not null, m.VaeEncoder is not null, pipeline.SamplerName);
        _thread = new Thread(Loop) { IsBackground = true, Name = "turbogen-model-worker" };
        _thread.Start();
    }

    public LoadedModelInfo Model { get; }
    public ServerMetrics Metrics { get; }
    public TurboPipeline Pipeline => _pipeline;
    public int QueueDepth { get { lock (_lock) return _queued; } }
    public CurrentJobStatus? Current => Volatile.Read(ref _current);

    /// <summary>Number of jobs that actually ran (tests use it to prove superseded work was skipped).</summary>
    public int JobsRun => Volatile.Read(ref _jobsRun);
    private int _jobsRun;

    public Task<GenerationResult> GenerateAsync(string sessionKey, GenerationRequest request, CancellationToken cancellationToken, IProgress<GenerationProgress>? progress = null) =>
        Enqueue<GenerationResult>(sessionKey, cancellationToken, ct => _pipeline.Generate(request, new Tracker(this, sessionKey, progress), ct));

    public Task<IReadOnlyList<RgbImage>> DecodeAsync(string sessionKey, FloatTensor latents, bool tinyVae, CancellationToken cancellationToken) =>
        Enqueue<IReadOnlyList<RgbImage>>(sessionKey, cancellationToken, ct => _pipeline.Decode(latents, tinyVae, new StageTimings(), ct));

    public bool InterruptCurrent()
    {
        var cts = Volatile.Read(ref _runningCts);
        if (cts is null) return false;
        try { cts.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    private Task<T> Enqueue<T>(string sessionKey, CancellationToken cancellationToken, Func<CancellationToken, T> work)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var job = new Job(sessionKey, cancellationToken, ct => work(ct)!);
        lock (_lock)
        {
            if (_queued >= _capacity)
            {
                Metrics.Rejected();
                throw new ServerBusyException(_queued, TimeSpan.FromSeconds(Math.Max(1, _queued)));
            }
            if (!_queues.TryGetValue(sessionKey, out var queue))
            {
                _queues[sessionKey] = queue = new LinkedList<Job>();
            }
            job.Node = queue.AddLast(job);
            if (queue.Count == 1) _rotation.AddLast(sessionKey);
            _queued++;
            Metrics.SetQueueDepth(_queued);
        }
        job.Registration = cancellationToken.Register(() => RemoveQueued(job));
        _signal.Release();
        return Cast<T>(job.Completion.Task);
    }

    private static async Task<T> Cast<T>(Task<object> task) => (T)await task.ConfigureAwait(false);

    private void RemoveQueued(Job job)
    {
        lock (_lock)
        {
            if (job.Node?.List is { } list)
            {
                list.Remove(job.Node);
                job.Node = null;
                _queued--;
                Metrics.SetQueueDepth(_queued);
                if (list.Count == 0)
                {
                    _queues.Remove(job.Session);
                    _rotation.Remove(job.Session);
                }
            }
        }
        job.Completion.TrySetCanceled(job.Token);
    }

    private Job? Next()
    {
        lock (_lock)
        {
            while (_rotation.First is { } head)
            {
                string session = head.Value;
                _rotation.RemoveFirst();
                var queue = _queues[session];
                var job = queue.First!.Value;
                queue.RemoveFirst();
                job.Node = null;
                _queued--;
                Metrics.SetQueueDepth(_queued);
                if (queue.Count > 0) _rotation.AddLast(session);
                else _queues.Remove(session);
                return job;
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
            var job = Next();
            if (job is null) continue;
            job.Registration.Dispose();
            if (job.Token.IsCancellationRequested)
            {
                job.Completion.TrySetCanceled(job.Token);
                continue;
            }
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(job.Token, _shutdown.Token);
            Volatile.Write(ref _runningCts, cts);
            Volatile.Write(ref _current, new CurrentJobStatus(job.Session, new GenerationProgress("queued", 0, 0, TimeSpan.Zero), DateTimeOffset.UtcNow));
            var sw = Stopwatch.StartNew();
            try
            {
                Interlocked.Increment(ref _jobsRun);
                var result = job.Work(cts.Token);
                Metrics.JobCompleted(sw.Elapsed, result as GenerationResult);
                job.Completion.TrySetResult(result);
            }
            catch (OperationCanceledException)
            {
                Metrics.JobCancelled();
                job.Completion.TrySetCanceled(cts.Token);
            }
            catch (Exception e)
            {
                Metrics.JobFailed();
                job.Completion.TrySetException(e);
            }
            finally
            {
                Volatile.Write(ref _runningCts, null);
                Volatile.Write(ref _current, null);
            }
        }
        // Fail whatever is still queued at shutdown.
        lock (_lock)
        {
            foreach (var job in _queues.Values.SelectMany(q => q))
            {
                job.Completion.TrySetCanceled();
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

    private sealed class Job(string session, CancellationToken token, Func<CancellationToken, object> work)
    {
        public string Session { get; } = session;
        public CancellationToken Token { get; } = token;
        public Func<CancellationToken, object> Work { get; } = work;
        public TaskCompletionSource<object> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Job>? Node { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
    }

    /// <summary>Records the running job's progress for status endpoints and forwards it to the submitter.</summary>
    private sealed class Tracker(GenerationWorker worker, string session, IProgress<GenerationProgress>? inner) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value)
        {
            var current = Volatile.Read(ref worker._current);
            Volatile.Write(ref worker._current, new CurrentJobStatus(session, value, current?.StartedAt ?? DateTimeOffset.UtcNow));
            inner?.Report(value);
        }
    }
}

using TurboGen.Imaging;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// A1111's global "state" for the compatible API: which txt2img/img2img request is running, its iteration
/// (<c>job_no</c> of <c>job_count</c> = n_iter) and sampling step, the latest preview, and interrupt/skip.
/// A job counts as running while the model worker runs its current iteration's job (the <see cref="GenerationJob"/>
/// handle says when it started and finished), so
/// <c>/interrupt</c> and <c>/skip</c> act on the A1111 job actually on the model (never on other clients' work,
/// and not on A1111 jobs still waiting in the queue — as in A1111, where an interrupt does not carry over).
/// </summary>
public sealed class A1111JobTracker
{
    private readonly object _lock = new();
    private readonly List<A1111Job> _active = [];

    /// <summary>Registers a request of <paramref name="jobCount"/> iterations; dispose the job when the request ends.</summary>
    public A1111Job Begin(string job, int jobCount, CancellationToken requestAborted)
    {
        var entry = new A1111Job(this, job, jobCount, requestAborted);
        lock (_lock) _active.Add(entry);
        return entry;
    }

    internal void End(A1111Job job)
    {
        lock (_lock) _active.Remove(job);
    }

    /// <summary>The running job, else the oldest waiting one, else null (idle).</summary>
    public A1111Job? Current
    {
        get
        {
            lock (_lock) return _active.FirstOrDefault(j => j.IsRunning) ?? _active.FirstOrDefault();
        }
    }

    /// <summary>Stops the running job: its current image is cancelled and no further iteration starts.</summary>
    public bool Interrupt()
    {
        A1111Job? running;
        lock (_lock) running = _active.FirstOrDefault(j => j.IsRunning);
        return running?.Interrupt() ?? false;
    }

    /// <summary>Cancels the running job's current iteration; the next one (if any) still runs.</summary>
    public bool Skip()
    {
        A1111Job? running;
        lock (_lock) running = _active.FirstOrDefault(j => j.IsRunning);
        return running?.Skip() ?? false;
    }
}

/// <summary>One A1111 generation request in flight: its iterations' worker jobs, interrupt and skip.</summary>
public sealed class A1111Job : IDisposable
{
    private readonly A1111JobTracker _tracker;
    private readonly CancellationTokenSource _job;
    private readonly object _lock = new();
    private CancellationTokenSource? _iteration;
    private GenerationJob? _handle;
    private DateTimeOffset? _startedAt;

    internal A1111Job(A1111JobTracker tracker, string job, int jobCount, CancellationToken requestAborted)
    {
        _tracker = tracker;
        Job = job;
        JobCount = jobCount;
        _job = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        Timestamp = DateTime.Now.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
    }

    public string Job { get; }
    public int JobCount { get; }
    public string Timestamp { get; }
    public int JobNo { get; private set; }
    public bool Interrupted { get; private set; }
    public bool Skipped { get; private set; }

    /// <summary>The current iteration's job on the model worker (null between iterations).</summary>
    private GenerationJob? Handle { get { lock (_lock) return _handle; } }

    public int SamplingStep => Handle?.Progress?.Step ?? 0;
    public int SamplingSteps => Handle?.Progress?.TotalSteps ?? 0;
    public RgbImage? Preview => Handle?.Preview;

    /// <summary>When the first iteration started on the model worker (null while it waits in the queue).</summary>
    public DateTimeOffset? StartedAt { get { lock (_lock) return _startedAt ??= _handle?.StartedAt; } }

    public bool IsRunning => Handle?.IsRunning ?? false;

    /// <summary>Starts iteration <paramref name="jobNo"/>; the returned token is cancelled by interrupt, skip or disconnect.</summary>
    public CancellationToken BeginIteration(int jobNo)
    {
        lock (_lock)
        {
            _iteration?.Dispose();
            _iteration = CancellationTokenSource.CreateLinkedTokenSource(_job.Token);
            JobNo = jobNo;
            _handle = null;
            Skipped = false;
            return _iteration.Token;
        }
    }

    /// <summary>The current iteration's job was submitted: progress, preview and running state come from it.</summary>
    public void Track(GenerationJob handle)
    {
        lock (_lock) _handle = handle;
    }

    /// <summary>The current iteration finished (or was cancelled): the job is no longer on the model.</summary>
    public void EndIteration()
    {
        lock (_lock)
        {
            _startedAt ??= _handle?.StartedAt;
            _handle = null;
        }
    }

    internal bool Interrupt()
    {
        lock (_lock) Interrupted = true;
        try { _job.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    internal bool Skip()
    {
        CancellationTokenSource? iteration;
        lock (_lock)
        {
            iteration = _iteration;
            if (iteration is null) return false;
            Skipped = true;
        }
        try { iteration.Cancel(); } catch (ObjectDisposedException) { return false; }
        return true;
    }

    public void Dispose()
    {
        _tracker.End(this);
        lock (_lock)
        {
            _iteration?.Dispose();
            _job.Dispose();
        }
    }
}

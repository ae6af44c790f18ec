namespace TurboGen.Server.Generation;

/// <summary>
/// Who may add a job to the queue — fairly per client (session) — and when a refused client should come back.
/// <list type="bullet">
/// <item><b>Per-client quota:</b> a session may hold its share of <see cref="Capacity"/>: capacity ÷ the sessions with
/// queued work, at least one, and a job beyond a session's first only while fewer than <see cref="Capacity"/> are queued
/// in all. A client submitting in parallel gets 429 beyond its share; it cannot fill the queue.</item>
/// <item><b>Every client is admitted once:</b> a session with nothing queued is admitted even when the shares add up to
/// more than <see cref="Capacity"/> (50 clients each waiting for one image against a capacity of 32 are all queued and
/// served round-robin, instead of the refused ones losing every race for a freed place), up to the hard bound
/// <see cref="MaxQueued"/> (4 × capacity) in all. Since extra jobs only fill the capacity, the queue never holds more
/// than capacity + the number of clients: with fewer clients than 3 × capacity, a client's first job is never refused.</item>
/// <item><b>Retry-After from measured throughput:</b> the smoothed time the worker takes per job (completed, failed or
/// cancelled) × the jobs that must run before a place is free for this client, never the queue depth in seconds.</item>
/// </list>
/// Not thread-safe: the worker calls it under its queue lock.
/// </summary>
/// <param name="initialJobTime">The job time assumed until jobs are measured (the warm-up run's), else <see cref="DefaultJobTime"/>.</param>
public sealed class FairAdmission(int capacity, TimeSpan? initialJobTime = null)
{
    /// <summary>The job time assumed when nothing has been measured.</summary>
    public static readonly TimeSpan DefaultJobTime = TimeSpan.FromSeconds(1);

    private double _jobSeconds = initialJobTime is { } t && t > TimeSpan.Zero ? t.TotalSeconds : 0;

    /// <summary>The queue places shared out between the clients with queued work.</summary>
    public int Capacity { get; } = Math.Max(0, capacity);

    /// <summary>The hard bound on queued jobs (memory): 4 × <see cref="Capacity"/>.</summary>
    public int MaxQueued => 4 * Capacity;

    /// <summary>The smoothed time per job, or <see cref="DefaultJobTime"/> when nothing was measured.</summary>
    public TimeSpan JobTime => _jobSeconds > 0 ? TimeSpan.FromSeconds(_jobSeconds) : DefaultJobTime;

    /// <summary>The worker finished a job (whatever its outcome) that held it for <paramref name="serviceTime"/>.</summary>
    public void JobDone(TimeSpan serviceTime)
    {
        double seconds = Math.Max(serviceTime.TotalSeconds, 0.0001);
        _jobSeconds = _jobSeconds == 0 ? seconds : 0.8 * _jobSeconds + 0.2 * seconds;
    }

    /// <summary>
    /// Decides on a job from a session that has <paramref name="sessionQueued"/> jobs queued, with <paramref name="totalQueued"/>
    /// queued in all across <paramref name="sessionsQueued"/> sessions. Null: admitted; otherwise refused, come back after
    /// the returned time.
    /// </summary>
    public TimeSpan? Admit(int sessionQueued, int totalQueued, int sessionsQueued)
    {
        if (totalQueued >= MaxQueued)
        {
            return Jobs(totalQueued - MaxQueued + 1);
        }
        if (sessionQueued == 0) return null;
        int share = Math.Max(1, Capacity / Math.Max(1, sessionsQueued));
        // Over its share, or the places are taken: round-robin runs one job of every other waiting session before this
        // session's next one frees a place.
        return sessionQueued >= share || totalQueued >= Capacity ? Jobs(sessionsQueued) : null;
    }

    private TimeSpan Jobs(int count) => TimeSpan.FromSeconds(JobTime.TotalSeconds * Math.Max(1, count));
}

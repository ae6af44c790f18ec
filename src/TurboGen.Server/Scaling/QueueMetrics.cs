using System.Text;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>What a gateway knows of its model's queue at one moment (refreshed every second by <see cref="QueueGateway"/>).</summary>
public sealed record QueueSnapshot(bool Connected, long Depth, long Running, long Reclaims, IReadOnlyList<WorkerInfo> Workers, string? Error)
{
    public static QueueSnapshot Empty { get; } = new(false, 0, 0, 0, [], "not connected yet");

    /// <summary>The mean measured job time of the live workers (0 when none has measured one).</summary>
    public double MeanJobMilliseconds => Workers.Where(w => w.JobMilliseconds > 0).Select(w => w.JobMilliseconds).DefaultIfEmpty(0).Average();
}

/// <summary>
/// The queue's part of <c>/metrics</c> on a gateway: depth and running entries of the model's stream, lease reclaims, live
/// workers, per-worker throughput (jobs and job time from the heartbeats, results this gateway received from each), the
/// per-job overhead of the queue (end to end minus the worker's run time) and duplicates dropped.
/// </summary>
public sealed class QueueMetrics
{
    private readonly object _lock = new();
    private readonly Dictionary<string, long> _resultsByWorker = new(StringComparer.Ordinal);
    private long _duplicates, _overheadCount;
    private double _overheadSum;

    public void DuplicateDropped() => Interlocked.Increment(ref _duplicates);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>A result came back from <paramref name="worker"/> <paramref name="endToEnd"/> after submission, of which the worker ran <paramref name="run"/>.</summary>
    public void Completed(string worker, TimeSpan endToEnd, TimeSpan run)
    {
        lock (_lock)
        {
            _resultsByWorker[worker] = _resultsByWorker.GetValueOrDefault(worker) + 1;
            _overheadSum += Math.Max(0, (endToEnd - run).TotalSeconds);
            _overheadCount++;
        }
    }

    /// <param name="sessionMoves">Live sessions this gateway moved to another worker (theirs died or left).</param>
    /// <param name="sessionsByWorker">This gateway's live sessions per assigned worker.</param>
    public void Render(StringBuilder sb, string model, QueueSnapshot s, long sessionMoves = 0, IReadOnlyDictionary<string, int>? sessionsByWorker = null)
    {
        var text = new PrometheusText(sb);
        var m = ("model", model);
        text.Single("turbogen_queue_connected", "1 when the gateway reaches the job queue (Redis).", s.Connected ? 1 : 0, m);
        text.Single("turbogen_queue_entries", "Jobs on the model's stream, waiting or running (all gateways).", s.Depth, m);
        text.Single("turbogen_queue_running", "Jobs read by a worker and not yet acknowledged.", s.Running, m);
        text.Single("turbogen_queue_lease_reclaims_total", "Jobs taken over from a worker whose lease ran out (XAUTOCLAIM).", s.Reclaims, m);
        text.Single("turbogen_queue_workers", "Workers with a live heartbeat.", s.Workers.Count, m);
        text.Family("turbogen_worker_jobs_total", "counter", "Jobs a worker finished (from its heartbeat).");
        foreach (var w in s.Workers) text.Sample("turbogen_worker_jobs_total", w.Jobs, m, ("worker", w.Id), ("provider", w.Provider));
        text.Family("turbogen_worker_job_seconds", "gauge", "A worker's smoothed time per job (from its heartbeat).");
        foreach (var w in s.Workers) text.Sample("turbogen_worker_job_seconds", w.JobMilliseconds / 1000, m, ("worker", w.Id));
        text.Family("turbogen_worker_busy", "gauge", "1 while a worker runs a job.");
        foreach (var w in s.Workers) text.Sample("turbogen_worker_busy", w.Busy ? 1 : 0, m, ("worker", w.Id));
        lock (_lock)
        {
            text.Family("turbogen_gateway_results_total", "counter", "Results this gateway received, by worker.");
            foreach (var (worker, count) in _resultsByWorker.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                text.Sample("turbogen_gateway_results_total", count, ("worker", worker));
            text.Family("turbogen_queue_overhead_seconds", "summary", "End-to-end time minus the worker's run time (queue wait included when workers are busy).");
            text.Sample("turbogen_queue_overhead_seconds_sum", _overheadSum).Sample("turbogen_queue_overhead_seconds_count", _overheadCount);
        }
        text.Single("turbogen_queue_duplicates_dropped_total", "Second results for one job id (a reclaimed job finishing twice), dropped.", Duplicates);
        text.Single("turbogen_queue_session_moves_total", "Live sessions moved to another worker because theirs died or left.", sessionMoves);
        text.Family("turbogen_gateway_live_sessions", "gauge", "This gateway's live sessions assigned to each worker (sticky).");
        foreach (var (worker, count) in (sessionsByWorker ?? new Dictionary<string, int>()).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            text.Sample("turbogen_gateway_live_sessions", count, ("worker", worker));
    }
}

using System.Globalization;
using System.Text;

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
        string m = Escape(model);
        Gauge(sb, "turbogen_queue_connected", "1 when the gateway reaches the job queue (Redis).", $"{{model=\"{m}\"}}", s.Connected ? 1 : 0);
        Gauge(sb, "turbogen_queue_entries", "Jobs on the model's stream, waiting or running (all gateways).", $"{{model=\"{m}\"}}", s.Depth);
        Gauge(sb, "turbogen_queue_running", "Jobs read by a worker and not yet acknowledged.", $"{{model=\"{m}\"}}", s.Running);
        Gauge(sb, "turbogen_queue_lease_reclaims_total", "Jobs taken over from a worker whose lease ran out (XAUTOCLAIM).", $"{{model=\"{m}\"}}", s.Reclaims);
        Gauge(sb, "turbogen_queue_workers", "Workers with a live heartbeat.", $"{{model=\"{m}\"}}", s.Workers.Count);
        sb.AppendLine("# HELP turbogen_worker_jobs_total Jobs a worker finished (from its heartbeat).");
        sb.AppendLine("# TYPE turbogen_worker_jobs_total counter");
        foreach (var w in s.Workers)
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_worker_jobs_total{{model=\"{m}\",worker=\"{Escape(w.Id)}\",provider=\"{Escape(w.Provider)}\"}} {w.Jobs}");
        sb.AppendLine("# HELP turbogen_worker_job_seconds A worker's smoothed time per job (from its heartbeat).");
        sb.AppendLine("# TYPE turbogen_worker_job_seconds gauge");
        foreach (var w in s.Workers)
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_worker_job_seconds{{model=\"{m}\",worker=\"{Escape(w.Id)}\"}} {w.JobMilliseconds / 1000}");
        sb.AppendLine("# HELP turbogen_worker_busy 1 while a worker runs a job.");
        sb.AppendLine("# TYPE turbogen_worker_busy gauge");
        foreach (var w in s.Workers)
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_worker_busy{{model=\"{m}\",worker=\"{Escape(w.Id)}\"}} {(w.Busy ? 1 : 0)}");
        lock (_lock)
        {
            sb.AppendLine("# HELP turbogen_gateway_results_total Results this gateway received, by worker.");
            sb.AppendLine("# TYPE turbogen_gateway_results_total counter");
            foreach (var (worker, count) in _resultsByWorker.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_gateway_results_total{{worker=\"{Escape(worker)}\"}} {count}");
            sb.AppendLine("# HELP turbogen_queue_overhead_seconds End-to-end time minus the worker's run time (queue wait included when workers are busy).");
            sb.AppendLine("# TYPE turbogen_queue_overhead_seconds summary");
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_queue_overhead_seconds_sum {_overheadSum}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_queue_overhead_seconds_count {_overheadCount}");
        }
        Gauge(sb, "turbogen_queue_duplicates_dropped_total", "Second results for one job id (a reclaimed job finishing twice), dropped.", "", Duplicates);
        Gauge(sb, "turbogen_queue_session_moves_total", "Live sessions moved to another worker because theirs died or left.", "", sessionMoves);
        sb.AppendLine("# HELP turbogen_gateway_live_sessions This gateway's live sessions assigned to each worker (sticky).");
        sb.AppendLine("# TYPE turbogen_gateway_live_sessions gauge");
        foreach (var (worker, count) in (sessionsByWorker ?? new Dictionary<string, int>()).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_gateway_live_sessions{{worker=\"{Escape(worker)}\"}} {count}");
    }

    private static void Gauge(StringBuilder sb, string name, string help, string labels, double value)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"# HELP {name} {help}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# TYPE {name} {(name.EndsWith("_total", StringComparison.Ordinal) ? "counter" : "gauge")}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{name}{labels} {value}");
    }

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}

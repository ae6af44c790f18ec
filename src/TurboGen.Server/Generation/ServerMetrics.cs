using System.Globalization;
using System.Text;
using TurboGen.Pipelines;

namespace TurboGen.Server.Generation;

/// <summary>
/// Counters and latency histograms exposed at <c>/metrics</c> in the Prometheus text format: requests, queue depth,
/// per-stage latency, jobs completed/cancelled/failed/rejected and live frames dropped (superseded before they ran).
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] Buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private readonly object _lock = new();
    private readonly Dictionary<string, long> _requests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Histogram> _stages = new(StringComparer.Ordinal);
    private readonly Histogram _jobs = new();
    private long _completed, _cancelled, _failed, _rejected, _framesDropped;
    private int _queueDepth;

    public void Request(string endpoint)
    {
        lock (_lock) _requests[endpoint] = _requests.GetValueOrDefault(endpoint) + 1;
    }

    public void SetQueueDepth(int depth) => Volatile.Write(ref _queueDepth, depth);
    public void Rejected() => Interlocked.Increment(ref _rejected);
    public void JobCancelled() => Interlocked.Increment(ref _cancelled);
    public void JobFailed() => Interlocked.Increment(ref _failed);
    public void FrameDropped() => Interlocked.Increment(ref _framesDropped);
    public long FramesDropped => Interlocked.Read(ref _framesDropped);

    public void JobCompleted(TimeSpan elapsed, GenerationResult? result)
    {
        Interlocked.Increment(ref _completed);
        lock (_lock)
        {
            _jobs.Observe(elapsed.TotalSeconds);
            if (result is null) return;
            foreach (var stage in result.Timings.Stages)
            {
                string name = StageFamily(stage.Stage);
                if (!_stages.TryGetValue(name, out var h)) _stages[name] = h = new Histogram();
                h.Observe(stage.Milliseconds / 1000.0);
            }
        }
    }

    /// <summary>"unet.step3" → "unet_step", "encode.text_encoder_2.cached" → "encode_cached", ...</summary>
    private static string StageFamily(string stage)
    {
        if (stage.StartsWith("unet.step", StringComparison.Ordinal)) return "unet_step";
        if (stage.EndsWith(".cached", StringComparison.Ordinal)) return "encode_cached";
        return stage.Replace('.', '_');
    }

    public string Render()
    {
        var sb = new StringBuilder();
        lock (_lock)
        {
            sb.AppendLine("# HELP turbogen_requests_total HTTP and WebSocket requests by endpoint.");
            sb.AppendLine("# TYPE turbogen_requests_total counter");
            foreach (var (endpoint, count) in _requests.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_requests_total{{endpoint=\"{endpoint}\"}} {count}");
            sb.AppendLine("# HELP turbogen_queue_depth Jobs waiting for the model worker.");
            sb.AppendLine("# TYPE turbogen_queue_depth gauge");
            sb.AppendLine(CultureInfo.InvariantCulture, $"turbogen_queue_depth {Volatile.Read(ref _queueDepth)}");
            Counter(sb, "turbogen_jobs_completed_total", "Jobs completed.", _completed);
            Counter(sb, "turbogen_jobs_cancelled_total", "Jobs cancelled (superseded, disconnected or interrupted).", _cancelled);
            Counter(sb, "turbogen_jobs_failed_total", "Jobs that failed.", _failed);
            Counter(sb, "turbogen_jobs_rejected_total", "Jobs refused (429/busy): queue bound or the client's share reached.", _rejected);
            sb.AppendLine("# HELP process_resident_memory_bytes Resident memory of the server process.");
            sb.AppendLine("# TYPE process_resident_memory_bytes gauge");
            sb.AppendLine(CultureInfo.InvariantCulture, $"process_resident_memory_bytes {Environment.WorkingSet}");
            Counter(sb, "turbogen_frames_dropped_total", "Live frames superseded by newer input before they were shown.", _framesDropped);
            sb.AppendLine("# HELP turbogen_job_seconds Time a job spent on the model worker.");
            sb.AppendLine("# TYPE turbogen_job_seconds histogram");
            _jobs.Render(sb, "turbogen_job_seconds", "");
            sb.AppendLine("# HELP turbogen_stage_seconds Per-stage latency.");
            sb.AppendLine("# TYPE turbogen_stage_seconds histogram");
            foreach (var (stage, h) in _stages.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                h.Render(sb, "turbogen_stage_seconds", $"stage=\"{stage}\"");
        }
        return sb.ToString();
    }

    private static void Counter(StringBuilder sb, string name, string help, long value)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"# HELP {name} {help}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# TYPE {name} counter");
        sb.AppendLine(CultureInfo.InvariantCulture, $"{name} {Interlocked.Read(ref value)}");
    }

    private sealed class Histogram
    {
        private readonly long[] _counts = new long[Buckets.Length];
        private long _count;
        private double _sum;

        public void Observe(double seconds)
        {
            for (int i = 0; i < Buckets.Length; i++) if (seconds <= Buckets[i]) _counts[i]++;
            _count++;
            _sum += seconds;
        }

        public void Render(StringBuilder sb, string name, string labels)
        {
            string sep = labels.Length > 0 ? "," : "";
            for (int i = 0; i < Buckets.Length; i++)
                sb.AppendLine(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}{sep}le=\"{Buckets[i]}\"}} {_counts[i]}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {_count}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{name}_sum{(labels.Length > 0 ? "{" + labels + "}" : "")} {_sum}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"{name}_count{(labels.Length > 0 ? "{" + labels + "}" : "")} {_count}");
        }
    }
}

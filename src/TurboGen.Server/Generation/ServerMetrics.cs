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
        var text = new PrometheusText(sb);
        lock (_lock)
        {
            text.Family("turbogen_requests_total", "counter", "HTTP and WebSocket requests by endpoint.");
            foreach (var (endpoint, count) in _requests.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                text.Sample("turbogen_requests_total", count, ("endpoint", endpoint));
            text.Single("turbogen_queue_depth", "Jobs waiting for the model worker.", Volatile.Read(ref _queueDepth));
            text.Single("turbogen_jobs_completed_total", "Jobs completed.", Interlocked.Read(ref _completed));
            text.Single("turbogen_jobs_cancelled_total", "Jobs cancelled (superseded, disconnected or interrupted).", Interlocked.Read(ref _cancelled));
            text.Single("turbogen_jobs_failed_total", "Jobs that failed.", Interlocked.Read(ref _failed));
            text.Single("turbogen_jobs_rejected_total", "Jobs refused (429/busy): queue bound or the client's share reached.", Interlocked.Read(ref _rejected));
            text.Single("process_resident_memory_bytes", "Resident memory of the server process.", Environment.WorkingSet);
            text.Single("turbogen_frames_dropped_total", "Live frames superseded by newer input before they were shown.", Interlocked.Read(ref _framesDropped));
            text.Family("turbogen_job_seconds", "histogram", "Time a job spent on the model worker.");
            _jobs.Render(text, "turbogen_job_seconds");
            text.Family("turbogen_stage_seconds", "histogram", "Per-stage latency.");
            foreach (var (stage, h) in _stages.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                h.Render(text, "turbogen_stage_seconds", ("stage", stage));
        }
        return sb.ToString();
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

        public void Render(PrometheusText text, string name, params (string Name, string Value)[] labels)
        {
            for (int i = 0; i < Buckets.Length; i++)
                text.Sample(name + "_bucket", _counts[i], [.. labels, ("le", Buckets[i].ToString(CultureInfo.InvariantCulture))]);
            text.Sample(name + "_bucket", _count, [.. labels, ("le", "+Inf")]);
            text.Sample(name + "_sum", _sum, labels);
            text.Sample(name + "_count", _count, labels);
        }
    }
}

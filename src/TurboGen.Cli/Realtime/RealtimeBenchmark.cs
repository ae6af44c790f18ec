using System.Diagnostics;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Cli.Realtime;

/// <summary>What <see cref="RealtimeBenchmark"/> simulates.</summary>
public sealed record RealtimeBenchmarkOptions : LiveBenchmarkOptions
{
    /// <summary>Typed one character at a time; each keystroke sends the prompt so far.</summary>
    public string Sentence { get; init; } = "a cozy wooden cabin in a snowy forest at dusk, warm light in the windows";

    public double KeysPerSecond { get; init; } = 8;
    public string? Style { get; init; }

    /// <summary>After the last keystroke, also wait for the refined (full-VAE) frame and report its latency.</summary>
    public bool WaitForRefine { get; init; } = true;

    /// <summary>Give up waiting for the last frames after this long (or six warm-up frames' time, if longer: a slow or loaded machine).</summary>
    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>The outcome of a simulated typing session.</summary>
/// <param name="Keystrokes">Keystrokes sent (one request each).</param>
/// <param name="FramesShown">Live frames received (each newer than the one before).</param>
/// <param name="MedianLatencyMs">Keystroke-to-frame latency: from a keystroke to the first frame answering it or a later keystroke.</param>
/// <param name="MedianModelMs">Model time per frame, from the frames' timings.</param>
/// <param name="MedianOverheadMs">Per frame: time from its request to its arrival minus its model time (waiting for the previous job, queueing, encoding, transport).</param>
/// <param name="RefineLatencyMs">From the last keystroke to the refined frame (includes the server's refine delay).</param>
public sealed record RealtimeBenchmarkResult(
    int Keystrokes, int FramesShown, double MedianLatencyMs, double P90LatencyMs, double MedianModelMs,
    double MedianOverheadMs, double P90OverheadMs, double? RefineLatencyMs, double FramesPerSecond, TimeSpan Duration,
    IReadOnlyList<double> KeystrokeLatenciesMs)
{
    public string Summary()
    {
        string text = FormattableString.Invariant(
            $"{Keystrokes} keystrokes → {FramesShown} frames shown ({FramesPerSecond:F1} fps); keystroke→frame median {MedianLatencyMs:F0} ms, p90 {P90LatencyMs:F0} ms; model {MedianModelMs:F0} ms/frame, overhead median {MedianOverheadMs:F0} ms, p90 {P90OverheadMs:F0} ms");
        return RefineLatencyMs is { } r ? text + FormattableString.Invariant($"; refined frame {r:F0} ms after the last keystroke") : text;
    }
}

/// <summary>
/// Measures the real-time experience end to end, as a user sees it: connects to a server's <c>/ws</c>, waits for one
/// warm-up frame, then types <see cref="RealtimeBenchmarkOptions.Sentence"/> at a steady rate (each keystroke sends
/// the prompt so far with a fixed seed) while a receive loop timestamps every frame. Latencies are taken on the
/// client clock; model time comes from each frame's timings, so the overhead is everything else.
/// Used by <c>turbogen bench --realtime</c>.
/// </summary>
public static class RealtimeBenchmark
{
    public static async Task<RealtimeBenchmarkResult> RunAsync(RealtimeBenchmarkOptions options, CancellationToken cancellationToken = default)
    {
        if (options.Sentence.Length == 0) throw new InvalidRequestException("sentence", "The benchmark sentence is empty.");
        if (!(options.KeysPerSecond > 0)) throw new InvalidRequestException("keys_per_second", "Keys per second must be positive.");
        await using var client = await RealtimeClient.ConnectAsync(options.Server, options.ApiKey, cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        ClientMessage Request(long id, string prompt) => new()
        {
            RequestId = id, Prompt = prompt, Seed = options.Seed, Steps = options.Steps, Width = options.Width, Height = options.Height,
            Style = options.Style, Live = true,
        };

        // Warm-up: one frame, so loading and first-run costs are not measured.
        long warmStart = System.Diagnostics.Stopwatch.GetTimestamp();
        await client.SendAsync(Request(0, "warm-up"), cancellationToken).ConfigureAwait(false);
        await WaitAsync(client, m => m.Frame is { Kind: FrameKinds.Live, RequestId: 0 }, options.SettleTimeout).ConfigureAwait(false);
        var settle = TimeSpan.FromTicks(Math.Max(options.SettleTimeout.Ticks, 6 * System.Diagnostics.Stopwatch.GetElapsedTime(warmStart).Ticks));

        int n = options.Sentence.Length;
        var sentAt = new double[n + 1];
        var frames = new List<(long Id, double At, double ModelMs)>();
        double? refinedAt = null;
        using var receiveCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = Task.Run(async () =>
        {
            while (true)
            {
                var m = await client.ReceiveAsync(receiveCts.Token).ConfigureAwait(false) ?? throw new InvalidOperationException("The server closed the socket.");
                double at = clock.Elapsed.TotalMilliseconds;
                if (m.Type == "error") throw new InvalidOperationException("The server answered an error: " + m.Text);
                if (m.Frame is not { } f || f.RequestId == 0) continue;
                lock (frames)
                {
                    if (f.Kind == FrameKinds.Live) frames.Add((f.RequestId, at, f.Timings.ModelMs));
                    else if (f.Kind == FrameKinds.Refined && f.RequestId == n) refinedAt = at;
                }
                bool gotLast = f.RequestId == n && (f.Kind == FrameKinds.Refined || (f.Kind == FrameKinds.Live && !options.WaitForRefine));
                if (gotLast) return;
            }
        }, receiveCts.Token);

        double start = clock.Elapsed.TotalMilliseconds;
        for (int i = 1; i <= n; i++)
        {
            double due = start + (i - 1) * 1000.0 / options.KeysPerSecond;
            double wait = due - clock.Elapsed.TotalMilliseconds;
            if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken).ConfigureAwait(false);
            sentAt[i] = clock.Elapsed.TotalMilliseconds;
            await client.SendAsync(Request(i, options.Sentence[..i]), cancellationToken).ConfigureAwait(false);
        }
        if (await Task.WhenAny(receiving, Task.Delay(settle, cancellationToken)).ConfigureAwait(false) != receiving)
        {
            await receiveCts.CancelAsync().ConfigureAwait(false);
            throw new TimeoutException($"The last frame did not arrive within {settle.TotalSeconds:F0} s after typing.");
        }
        await receiving.ConfigureAwait(false);

        (long Id, double At, double ModelMs)[] live;
        lock (frames) live = [.. frames];
        var latencies = new List<double>();
        for (int k = 1; k <= n; k++)
        {
            var answer = live.FirstOrDefault(f => f.Id >= k);
            if (answer.Id != 0) latencies.Add(answer.At - sentAt[k]);
        }
        var overheads = live.Select(f => f.At - sentAt[f.Id] - f.ModelMs).ToList();
        double end = live.Length > 0 ? live[^1].At : clock.Elapsed.TotalMilliseconds;
        var duration = TimeSpan.FromMilliseconds(end - start);
        return new RealtimeBenchmarkResult(
            n, live.Length, Percentile(latencies, 0.5), Percentile(latencies, 0.9), Percentile(live.Select(f => f.ModelMs).ToList(), 0.5),
            Percentile(overheads, 0.5), Percentile(overheads, 0.9), refinedAt - sentAt[n], live.Length / Math.Max(duration.TotalSeconds, 1e-3),
            duration, latencies);
    }

    private static Task WaitAsync(RealtimeClient client, Func<RealtimeMessage, bool> match, TimeSpan timeout) =>
        client.WaitForAsync(m => m.Type == "error" ? throw new InvalidOperationException("The server answered an error: " + m.Text) : match(m), timeout);

    /// <summary>Nearest-rank percentile (0 for no samples).</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return 0;
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

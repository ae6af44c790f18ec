using System.Globalization;

namespace TurboGen.Cli.Soak;

/// <summary>
/// The outcome of a soak run. "Answered" means served (200, or a frame) or refused the documented way (429/503 with
/// Retry-After, or a WebSocket <c>busy</c> message); anything else — another status, a body that is not the API's
/// error shape, a dropped connection, a timeout — is <see cref="Unanswered"/>.
/// </summary>
public sealed record SoakReport
{
    public required double Seconds { get; init; }
    public required int Sessions { get; init; }
    public required int Clients { get; init; }

    /// <summary>API requests sent, and their answers by status.</summary>
    public required int Requests { get; init; }
    public required IReadOnlyDictionary<string, int> Statuses { get; init; }

    /// <summary>Requests with no proper answer (see the type's summary), with up to ten examples.</summary>
    public required int Unanswered { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Latency of the served API requests: p50, p90, p99, max (ms).</summary>
    public required double[] ApiLatencyMs { get; init; }

    /// <summary>Keystrokes sent over all sessions, live frames received, busy answers.</summary>
    public required int Keystrokes { get; init; }
    public required int Frames { get; init; }
    public required int Busy { get; init; }

    /// <summary>Frames per session: min, median, max (fair share across sessions).</summary>
    public required double[] FramesPerSession { get; init; }

    /// <summary>Sessions whose last frame answered their last keystroke once typing stopped (nothing lost at the end).</summary>
    public required int SessionsCaughtUp { get; init; }

    /// <summary>Keystroke-to-frame latency over all sessions: p50, p90, p99 (ms).</summary>
    public required double[] FrameLatencyMs { get; init; }

    /// <summary>Server resident memory from /metrics: at the start, the highest sample, at the end (bytes).</summary>
    public required long[] ResidentBytes { get; init; }

    /// <summary>The server answered /health after the run.</summary>
    public required bool HealthyAfter { get; init; }

    public string Summary()
    {
        static string Ms(double[] v) => string.Join("/", v.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)));
        static string MiB(long b) => (b / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);
        return FormattableString.Invariant($"""
            soak: {Sessions} real-time sessions + {Clients} API clients for {Seconds:F0} s
              API: {Requests} requests, {Unanswered} unanswered; {string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}; served latency p50/p90/p99/max {Ms(ApiLatencyMs)} ms
              WebSocket: {Keystrokes} keystrokes → {Frames} frames, {Busy} busy; frames per session min/median/max {Ms(FramesPerSession)}; {SessionsCaughtUp}/{Sessions} caught up; keystroke→frame p50/p90/p99 {Ms(FrameLatencyMs)} ms
              memory: RSS {MiB(ResidentBytes[0])} → max {MiB(ResidentBytes[1])} → end {MiB(ResidentBytes[2])} MiB; healthy after: {(HealthyAfter ? "yes" : "NO")}
            """);
    }
}

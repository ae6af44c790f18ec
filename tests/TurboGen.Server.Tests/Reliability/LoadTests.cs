using Microsoft.Extensions.Logging;
using TurboGen.Cli.Soak;
using Xunit.Abstractions;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>
/// Load: real-time sessions typing and API clients together on the tiny model (<see cref="SoakRun"/>, the engine of
/// <c>turbogen bench --soak</c>). Every request is answered (served, or refused with Retry-After), every session's last
/// keystroke gets its frame, frames are shared fairly, memory stays bounded, nothing is logged as an error.
/// The fast form runs in the normal suite; the long form (50 sessions + 20 clients for TURBOGEN_SOAK_SECONDS, default
/// 300) is in the Slow category and runs with TURBOGEN_SLOW_TESTS=1.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [Fact]
    public Task FastForm_SixSessionsAndFourClients_ForFourSeconds() => RunAsync(sessions: 6, clients: 4, TimeSpan.FromSeconds(4));

    [Fact]
    [Trait("Category", "Slow")]
    public Task LongForm_FiftySessionsAndTwentyClients()
    {
        if (Environment.GetEnvironmentVariable("TURBOGEN_SLOW_TESTS") != "1") return Task.CompletedTask; // opt-in: minutes of load
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("TURBOGEN_SOAK_SECONDS"), out int s) && s > 0 ? s : 300;
        return RunAsync(sessions: 50, clients: 20, TimeSpan.FromSeconds(seconds));
    }

    private async Task RunAsync(int sessions, int clients, TimeSpan duration)
    {
        var logs = new LogCollector();
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromMilliseconds(400) },
            logging: builder =>
            {
                builder.SetMinimumLevel(LogLevel.Warning);
                logs.Attach(builder);
            });
        var report = await SoakRun.RunAsync(new SoakOptions { Server = server.BaseAddress, Sessions = sessions, Clients = clients, Duration = duration });
        output.WriteLine(report.Summary());
        foreach (string problem in report.Problems) output.WriteLine("  problem: " + problem);

        Assert.True(report.Requests > clients, $"only {report.Requests} API requests");
        Assert.True(report.Unanswered == 0, $"{report.Unanswered} requests without a proper answer: {string.Join("; ", report.Problems)}");
        Assert.Equal(sessions, report.SessionsCaughtUp);
        Assert.True(report.HealthyAfter);
        Assert.True(report.ApiLatencyMs[2] < 20_000, $"API p99 {report.ApiLatencyMs[2]:F0} ms");
        Assert.True(report.FrameLatencyMs[2] < 20_000, $"frame p99 {report.FrameLatencyMs[2]:F0} ms");
        Assert.True(report.FramesPerSession[0] * 3 >= report.FramesPerSession[1], $"unfair frame share min/median/max {string.Join("/", report.FramesPerSession)}");
        long growth = report.ResidentBytes[2] - report.ResidentBytes[0];
        Assert.True(growth < 768L << 20, $"resident memory grew by {growth >> 20} MiB");
        Assert.True(logs.Errors.Count == 0, string.Join("\n", logs.Errors.Take(5)));
    }
}

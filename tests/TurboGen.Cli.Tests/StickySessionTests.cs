using TurboGen.Cli.Realtime;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Issue 17, item 3, with real processes: a live WebSocket session through a gateway keeps its frames on one of two worker
/// processes (worker affinity), and when that worker is killed with SIGKILL the session goes on on the other one without
/// reconnecting; the first frame from the new worker names the previous one.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class StickySessionTests(CliFixture fixture)
{
    private static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task LiveSession_StaysOnOneWorker_AndFailsOverToTheOtherWhenItIsKilled()
    {
        if (OperatingSystem.IsWindows()) return; // redis-server and SIGKILL: Linux (CI) only
        await using var cluster = await QueueCluster.StartAsync(fixture);
        var workers = new[] { cluster.Start("worker-a", cluster.WorkerArgs), cluster.Start("worker-b", cluster.WorkerArgs) };
        using var http = cluster.StartGateway();
        await cluster.WaitReadyAsync(http, workers: 2);

        await using var client = await RealtimeClient.ConnectAsync(http.BaseAddress!);
        long id = 0;
        async Task<FrameHeader> FrameAsync()
        {
            long request = ++id;
            await client.SendAsync(new ClientMessage { Type = "generate", RequestId = request, Prompt = $"a fox {request}", Seed = request, Steps = 1, Width = 64, Height = 64, Live = true });
            try
            {
                var message = await client.WaitForAsync(m => m.Frame is { Kind: FrameKinds.Live } f && f.RequestId == request, FrameTimeout);
                return message.Frame!;
            }
            catch (TimeoutException)
            {
                Assert.Fail($"no live frame for request {request} within {FrameTimeout.TotalSeconds} s; " + cluster.Said());
                throw;
            }
        }

        // Affinity: every frame of the session from one worker (two idle workers are free to take any of them).
        var before = new List<FrameHeader>();
        for (int i = 0; i < 6; i++) before.Add(await FrameAsync());
        string sticky = Assert.Single(before.Select(f => f.Worker).Distinct())!;
        Assert.NotNull(sticky);
        // Worker ids are HOST-PID-RANDOM: find its process.
        var doomed = Assert.Single(workers, w => sticky.Contains($"-{w.Process.Id}-", StringComparison.Ordinal));
        var survivor = Assert.Single(workers, w => w.Process.Id != doomed.Process.Id);

        doomed.Process.Kill(); // SIGKILL
        // The session goes on without reconnecting: the next frames come from the other worker (after its heartbeat expired).
        var after = new List<FrameHeader>();
        for (int i = 0; i < 4; i++) after.Add(await FrameAsync());
        Assert.All(after, f => Assert.True(f.Worker is not null && f.Worker.Contains($"-{survivor.Process.Id}-", StringComparison.Ordinal),
            $"frame {f.RequestId} came from {f.Worker}; expected worker-{survivor.Process.Id}"));
        Assert.Equal(sticky, after[0].PreviousWorker);
        Assert.All(after.Skip(1), f => Assert.Null(f.PreviousWorker));

        string metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("turbogen_queue_session_moves_total 1", metrics);
    }
}

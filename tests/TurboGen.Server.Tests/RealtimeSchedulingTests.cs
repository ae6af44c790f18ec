using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// Real-time sessions on the shared model worker: latest wins (stale updates dropped, frames only move forward), a disconnect cancels
/// queued and running work, a superseded slow job still finishes when the shown picture is stale, sessions are served round-robin,
/// and a full queue answers busy.
/// </summary>
public sealed class RealtimeSchedulingTests
{
    [Fact]
    public async Task LatestWins_TwentyQuickUpdates_AnswerTheLastWithFewJobs()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        var worker = server.Worker();
        using var gate = await WorkerGate.CloseAsync(worker);
        int jobsBefore = worker.JobsRun;
        long droppedBefore = worker.Metrics.FramesDropped;

        for (int i = 1; i <= 20; i++) await client.SendAsync(Generate(i, "a cat wearing a hat number " + i));
        await EventuallyAsync(() => worker.QueueDepth == 1, "the session's job waits behind the gate");
        gate.Release();

        var frame = await client.NextFrameAsync();
        Assert.Equal(20, frame.Frame!.RequestId);
        await gate.Job;
        int sessionJobs = worker.JobsRun - jobsBefore; // the gate was counted before
        Assert.InRange(sessionJobs, 1, 2);
        Assert.True(worker.Metrics.FramesDropped - droppedBefore >= 18, $"dropped {worker.Metrics.FramesDropped - droppedBefore}");
        Assert.Contains("turbogen_frames_dropped_total", await server.Http.GetStringAsync("/metrics"));

        // Nothing older arrives afterwards.
        await client.SendAsync(Generate(21, "a dog"));
        var next = await client.NextFrameAsync();
        Assert.Equal(21, next.Frame!.RequestId);
    }

    [Fact]
    public async Task LatestWins_WithoutGate_FramesOnlyMoveForward()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        var worker = server.Worker();
        int jobsBefore = worker.JobsRun;
        for (int i = 1; i <= 20; i++) await client.SendAsync(Generate(i, "sunset over the sea " + new string('!', i), size: 256));
        long last = 0;
        while (last < 20)
        {
            var frame = await client.NextFrameAsync();
            Assert.True(frame.Frame!.RequestId > last, "frames never go backwards");
            last = frame.Frame.RequestId;
        }
        Assert.True(worker.JobsRun - jobsBefore < 20, $"{worker.JobsRun - jobsBefore} jobs ran for 20 updates");
    }

    [Fact]
    public async Task Disconnect_CancelsQueuedWork_AndRemovesTheSession()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        Assert.Equal(1, server.Sessions().Count);
        using var gate = await WorkerGate.CloseAsync(worker);
        int jobsBefore = worker.JobsRun;
        await client.SendAsync(Generate(1, "never shown"));
        await EventuallyAsync(() => worker.QueueDepth == 1, "the job is queued");

        client.Abort();
        await EventuallyAsync(() => server.Sessions().Count == 0, "the session is removed");
        await EventuallyAsync(() => worker.QueueDepth == 0, "the queued job is cancelled");
        gate.Release();
        await gate.Job;
        await Task.Delay(50);
        Assert.Equal(jobsBefore, worker.JobsRun);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Disconnect_CancelsTheRunningJob()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        // A big job (1024², 4 steps) runs long enough on the tiny model to be cancelled mid-way.
        await client.SendAsync(new ClientMessage { RequestId = 1, Prompt = "big", Seed = 1, Steps = 4, Width = 1024, Height = 1024 });
        await EventuallyAsync(() => worker.Current is { SessionKey: var k } && k.StartsWith("rt-", StringComparison.Ordinal), "the job runs");
        client.Abort();
        await EventuallyAsync(() => server.Sessions().Count == 0 && worker.Current is null, "session removed and job ended");
        Assert.Contains("turbogen_jobs_cancelled_total 1", await server.Http.GetStringAsync("/metrics"));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task SupersededRunningJob_FinishesWhenThePictureIsStale_SoSlowModelsStillFollowTyping()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "small and quick"));
        await client.NextFrameAsync();
        await Task.Delay(100); // the shown frame is now much older than twice a typical (millisecond) job

        // 2048² keeps the tiny model busy long enough (hundreds of ms) to be observed running even on a loaded machine.
        await client.SendAsync(new ClientMessage { RequestId = 2, Prompt = "big and slow", Seed = 1, Steps = 4, Width = 2048, Height = 2048 });
        await EventuallyAsync(() => worker.Current is { IsRunning: true } c && c.SessionKey.StartsWith("rt-", StringComparison.Ordinal), "the big job runs");
        await client.SendAsync(Generate(3, "the newest"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
        Assert.Equal(3, (await client.NextFrameAsync()).Frame!.RequestId);
    }

    [Fact]
    public async Task TwoSessionsAndABusyClient_AreServedRoundRobin()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        await using var a = await server.ConnectAsync();
        await using var b = await server.ConnectAsync();
        await a.NextTextAsync("hello");
        await b.NextTextAsync("hello");
        using var gate = await WorkerGate.CloseAsync(worker);

        // A busy client queues six jobs first; then both sessions ask for one frame each. Each hog job records its
        // position in the worker's execution order when it starts (JobsRun is counted just before a job runs).
        int jobsBefore = worker.JobsRun;
        var hogPositions = new List<int>();
        var hog = Enumerable.Range(0, 6).Select(i =>
        {
            var recorder = new StartRecorder(() => { lock (hogPositions) hogPositions.Add(worker.JobsRun - jobsBefore); });
            return worker.Submit("hog", new GenerationRequest { Prompt = "hog", Seed = i, Width = 64, Height = 64 }, CancellationToken.None,
                (_, _) => recorder.Report()).Result;
        }).ToArray();
        await a.SendAsync(Generate(1, "session a"));
        await EventuallyAsync(() => worker.QueueDepth == 7, "a's job queued");
        await b.SendAsync(Generate(1, "session b"));
        await EventuallyAsync(() => worker.QueueDepth == 8, "all jobs queued");
        gate.Release();

        Assert.Equal(1, (await a.NextFrameAsync()).Frame!.RequestId);
        Assert.Equal(1, (await b.NextFrameAsync()).Frame!.RequestId);
        await Task.WhenAll(hog);
        // Round-robin over sessions with pending work: hog, a, b, hog, hog, ... — not the six hog jobs first.
        lock (hogPositions) Assert.Equal([1, 4, 5, 6, 7, 8], hogPositions.Order());
    }

    /// <summary>Runs an action on a job's first progress event (on the worker thread, before the next job can start).</summary>
    private sealed class StartRecorder(Action onStart)
    {
        private bool _started;

        public void Report()
        {
            if (_started) return;
            _started = true;
            onStart();
        }
    }

    [Fact]
    public async Task FullQueue_AnswersBusy_AndTheSessionRecovers()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { QueueCapacity = 1, RefineDelay = TimeSpan.FromHours(1) });
        var worker = server.Worker();
        await using var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        using var gate = await WorkerGate.CloseAsync(worker);
        // Every client is admitted once up to the hard bound (4 × capacity): fill it with four other clients.
        var fillers = Enumerable.Range(0, 4).Select(i =>
            worker.GenerateAsync("filler-" + i, new GenerationRequest { Prompt = "fill", Seed = 1, Width = 64, Height = 64 }, CancellationToken.None)).ToList();

        await client.SendAsync(Generate(1, "too many"));
        var busy = await client.NextTextAsync("busy");
        Assert.Equal(1, busy.Text!.Value.GetProperty("requestId").GetInt64());
        Assert.True(busy.Text!.Value.GetProperty("retryAfterMs").GetInt64() > 0);
        Assert.Contains("turbogen_jobs_rejected_total 1", await server.Http.GetStringAsync("/metrics"));

        gate.Release();
        await Task.WhenAll(fillers);
        await client.SendAsync(Generate(2, "now it fits"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
    }
}

using Microsoft.Extensions.Time.Testing;
using TurboGen.Pipelines;
using TurboGen.Server.Realtime;

namespace TurboGen.Server.Tests;

/// <summary>The real-time scheduling rules on a fake clock: no sockets, no model, no sleeping.</summary>
public sealed class LiveFramePolicyTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(400);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private int _dropped;

    private LiveFramePolicy<string> NewPolicy() => new(Delay, _clock, () => _dropped++);

    private static LiveRequest Request(long id, string key, LiveRequestKind kind = LiveRequestKind.Generate) =>
        new(kind, id, new GenerationRequest { Prompt = key }, Live: true, Refine: false, Keep: false, "jpeg", key);

    [Fact]
    public void LatestWins_OnlyTheNewestPendingRequestRuns_AndTheOthersCountAsDropped()
    {
        var policy = NewPolicy();
        for (int i = 1; i <= 20; i++) policy.Accept(Request(i, "p" + i));
        var action = policy.Next();
        Assert.Equal(LiveActionKind.Run, action.Kind);
        Assert.Equal(20, action.Wanted!.Request.RequestId);
        Assert.Equal(19, _dropped);
        Assert.Equal(LiveActionKind.Wait, policy.Next().Kind);
        Assert.Equal(Timeout.InfiniteTimeSpan, policy.Next().Wait);
    }

    [Fact]
    public void GenerateComesBeforeVariants_AndEachKindKeepsItsNewest()
    {
        var policy = NewPolicy();
        policy.Accept(Request(1, "v1", LiveRequestKind.Variants));
        policy.Accept(Request(2, "g2"));
        policy.Accept(Request(3, "v3", LiveRequestKind.Variants));
        Assert.Equal(2, policy.Next().Wanted!.Request.RequestId);
        Assert.Equal(3, policy.Next().Wanted!.Request.RequestId);
        Assert.Equal(LiveActionKind.Wait, policy.Next().Kind);
        Assert.Equal(0, _dropped); // a replaced variants request is not a dropped frame
    }

    [Fact]
    public void NewInput_CancelsTheRunningJob_UnlessThePictureIsStaleAndTheJobHasStarted()
    {
        var policy = NewPolicy();
        policy.JobTime(100); // typical job: 100 ms
        policy.FrameSent();

        // Not started yet: superseded at once.
        using var queued = new CancellationTokenSource();
        var run = policy.BeginRun(LiveRunKind.Generate, queued)!;
        policy.Accept(Request(1, "a"));
        Assert.True(queued.IsCancellationRequested);
        policy.EndRun(run, cancelled: true);
        Assert.Equal(1, _dropped);
        policy.Next();

        // Started, last frame 150 ms ago (< 2 × 100 ms): still superseded.
        using var fresh = new CancellationTokenSource();
        run = policy.BeginRun(LiveRunKind.Generate, fresh)!;
        policy.RunStarted(run);
        _clock.Advance(TimeSpan.FromMilliseconds(150));
        policy.Accept(Request(2, "b"));
        Assert.True(fresh.IsCancellationRequested);
        policy.EndRun(run, cancelled: true);
        policy.Next();

        // Started, last frame 250 ms ago (> 2 × 100 ms): allowed to finish so the picture keeps following.
        using var stale = new CancellationTokenSource();
        run = policy.BeginRun(LiveRunKind.Generate, stale)!;
        policy.RunStarted(run);
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        policy.Accept(Request(3, "c"));
        Assert.False(stale.IsCancellationRequested);
        policy.EndRun(run, cancelled: false);
        Assert.Equal(3, policy.Next().Wanted!.Request.RequestId);
    }

    [Fact]
    public void Variants_CancelOnlyRunningVariants_WhileGenerateCancelsAnyRunningJob()
    {
        var policy = NewPolicy();
        using var generate = new CancellationTokenSource();
        var run = policy.BeginRun(LiveRunKind.Generate, generate)!;
        policy.Accept(Request(1, "v", LiveRequestKind.Variants));
        Assert.False(generate.IsCancellationRequested);
        policy.EndRun(run, cancelled: false);
        policy.Next();

        using var variants = new CancellationTokenSource();
        run = policy.BeginRun(LiveRunKind.Variants, variants)!;
        policy.Accept(Request(2, "g"));
        Assert.True(variants.IsCancellationRequested);
        policy.EndRun(run, cancelled: true);
        Assert.Equal(0, _dropped);
    }

    [Fact]
    public void BeginRun_IsRefused_WhenNewerInputArrivedSinceTheRequestWasTaken()
    {
        var policy = NewPolicy();
        policy.Accept(Request(1, "a"));
        policy.Next();
        policy.Accept(Request(2, "b"));
        using var cts = new CancellationTokenSource();
        Assert.Null(policy.BeginRun(LiveRunKind.Generate, cts));
        Assert.Equal(1, _dropped);
        Assert.Null(policy.BeginRun(LiveRunKind.Refine, cts));
        Assert.Equal(1, _dropped); // refines are not frames
    }

    [Fact]
    public void RefineOnPause_FiresAfterTheDelay_AndNewInputOrTheSamePictureRestartsThePause()
    {
        var policy = NewPolicy();
        var shown = policy.Show("a", "payload a");
        var wait = policy.Next();
        Assert.Equal((LiveActionKind.Wait, Delay), (wait.Kind, wait.Wait));
        _clock.Advance(TimeSpan.FromMilliseconds(399));
        Assert.Equal(TimeSpan.FromMilliseconds(1), policy.Next().Wait);

        policy.Rearm(shown); // the same picture asked for again while typing
        _clock.Advance(TimeSpan.FromMilliseconds(399));
        Assert.Equal(LiveActionKind.Wait, policy.Next().Kind);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var refine = policy.Next();
        Assert.Equal(LiveActionKind.Refine, refine.Kind);
        Assert.Same(shown, refine.Shown);
        Assert.Equal("payload a", refine.Shown!.Payload);
        Assert.Same(shown, policy.ShownFor("a"));
        Assert.Null(policy.ShownFor("b"));
    }

    [Fact]
    public void ATakenRefine_IsNeverRetriedByItself_EvenWhenItFails()
    {
        // Issue 14.1: a refine that failed (e.g. the PNG could not be saved) was retried in a tight loop.
        var policy = NewPolicy();
        policy.Show("a", "payload");
        _clock.Advance(Delay);
        Assert.Equal(LiveActionKind.Refine, policy.Next().Kind);
        // ... the refine throws; nothing marks it done. Time passes: no further refine is offered.
        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            var next = policy.Next();
            Assert.Equal((LiveActionKind.Wait, Timeout.InfiniteTimeSpan), (next.Kind, next.Wait));
        }
        // New input re-arms it.
        policy.Rearm(policy.ShownFor("a")!);
        _clock.Advance(Delay);
        Assert.Equal(LiveActionKind.Refine, policy.Next().Kind);
    }

    [Fact]
    public void ARefinedPicture_IsNotRefinedAgain_AndABusyQueueReschedulesAfterRetryAfter()
    {
        var policy = NewPolicy();
        var shown = policy.Show("a", "payload");
        _clock.Advance(Delay);
        Assert.Equal(LiveActionKind.Refine, policy.Next().Kind);
        policy.RefineBusy(shown, TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(2), policy.Next().Wait);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(LiveActionKind.Refine, policy.Next().Kind);
        policy.RefineDone(shown);
        policy.Rearm(shown);
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(Timeout.InfiniteTimeSpan, policy.Next().Wait);
    }

    [Fact]
    public void JobTime_IsSmoothed_AndClearDropsEverything()
    {
        var policy = NewPolicy();
        policy.JobTime(100);
        policy.JobTime(200);
        Assert.Equal(130, policy.TypicalJobMs, 6);
        policy.Accept(Request(1, "a"));
        policy.Show("a", "x");
        policy.Clear();
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal((LiveActionKind.Wait, Timeout.InfiniteTimeSpan), (policy.Next().Kind, policy.Next().Wait));
    }
}

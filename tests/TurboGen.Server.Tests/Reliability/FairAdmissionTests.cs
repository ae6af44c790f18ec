using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using Xunit.Abstractions;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Issue 14.8: admission is fair per client, and Retry-After comes from the measured job time.</summary>
public sealed class FairAdmissionTests(ITestOutputHelper output)
{
    [Fact]
    public void RetryAfter_IsMeasuredJobTimeTimesJobsAhead_NotQueueDepth()
    {
        var admission = new FairAdmission(capacity: 32);
        Assert.Equal(FairAdmission.DefaultJobTime, admission.JobTime);
        for (int i = 0; i < 40; i++) admission.JobDone(TimeSpan.FromMilliseconds(200));
        Assert.InRange(admission.JobTime.TotalMilliseconds, 199, 201);
        // A client holding 8 of 32 with 4 clients waiting is at its share: it waits for one round of the others' jobs.
        Assert.InRange(admission.Admit(sessionQueued: 8, totalQueued: 32, sessionsQueued: 4)!.Value.TotalMilliseconds, 799, 801);
        // At the hard bound (4 × capacity) everyone waits for one job to leave the queue.
        Assert.InRange(admission.Admit(0, 128, 128)!.Value.TotalMilliseconds, 199, 201);
    }

    [Fact]
    public void EveryClientWithNothingQueued_IsAdmitted_BeyondCapacity_UpToTheHardBound()
    {
        var admission = new FairAdmission(capacity: 32);
        for (int queued = 0; queued < 128; queued++)
        {
            Assert.Null(admission.Admit(sessionQueued: 0, totalQueued: queued, sessionsQueued: queued));
        }
        Assert.NotNull(admission.Admit(0, 128, 128));
    }

    [Fact]
    public void AClientOverItsShare_IsRefused_WhileOthersAreAdmitted()
    {
        var admission = new FairAdmission(capacity: 8);
        // Alone, a client may queue the whole capacity.
        Assert.Null(admission.Admit(sessionQueued: 7, totalQueued: 7, sessionsQueued: 1));
        Assert.NotNull(admission.Admit(sessionQueued: 8, totalQueued: 8, sessionsQueued: 1));
        // With another client waiting, its share of 8 is 4.
        Assert.NotNull(admission.Admit(sessionQueued: 4, totalQueued: 5, sessionsQueued: 2));
        Assert.Null(admission.Admit(sessionQueued: 1, totalQueued: 5, sessionsQueued: 2));
        Assert.Null(admission.Admit(sessionQueued: 0, totalQueued: 6, sessionsQueued: 2));
        // A job beyond a session's first only fills the capacity: with 8 queued, only first jobs are admitted.
        Assert.NotNull(admission.Admit(sessionQueued: 1, totalQueued: 8, sessionsQueued: 8));
        Assert.Null(admission.Admit(sessionQueued: 0, totalQueued: 8, sessionsQueued: 8));
    }

    /// <summary>
    /// The issue's case, scaled: more than 2× more clients than queue places, each resubmitting as soon as it is served, and two
    /// floods submitting 16 at a time (coming back after Retry-After when refused). Every client is served, with a fair share.
    /// The queue holds at most capacity + clients (5 + 14 &lt; 20, the hard bound), so a sequential client is never refused.
    /// </summary>
    [Fact]
    public async Task ManyClientsAgainstASmallQueue_AllAreServed_Fairly_AndFloodsAreHeldToTheirShare()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { QueueCapacity = 5 });
        var worker = server.Worker();
        const int clients = 12, floods = 2;
        var served = new int[clients + floods];
        int floodRefused = 0;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var request = new GenerationRequest { Prompt = "a cat", Seed = 1, Width = 64, Height = 64 };
        var sequential = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            while (DateTime.UtcNow < until)
            {
                await worker.Submit("client-" + c, request, CancellationToken.None).Result; // never refused: nothing else queued
                served[c]++;
            }
        }));
        var flooding = Enumerable.Range(clients, floods).Select(c => Task.Run(async () =>
        {
            await Task.Delay(300); // after the job time is measured on these small jobs (until then it is the 512² warm-up's)
            while (DateTime.UtcNow < until)
            {
                var jobs = new List<Task>();
                TimeSpan? wait = null;
                for (int i = 0; i < 16 && wait is null; i++)
                {
                    try
                    {
                        jobs.Add(worker.Submit("flood-" + c, request, CancellationToken.None).Result.ContinueWith(_ => Interlocked.Increment(ref served[c])));
                    }
                    catch (ServerBusyException busy)
                    {
                        Interlocked.Increment(ref floodRefused);
                        wait = busy.RetryAfter;
                    }
                }
                await Task.WhenAll(jobs);
                if (wait is { } w) await Task.Delay(w);
            }
        }));
        await Task.WhenAll(sequential.Concat(flooding));
        output.WriteLine($"served {string.Join(",", served)}; flood refusals {floodRefused}; job time {worker.JobTime.TotalMilliseconds:F2} ms; jobs run {worker.JobsRun}");
        Assert.True(floodRefused > 0, "the floods were never held to their share: the test proves nothing");
        var each = served[..clients].Order().ToArray();
        Assert.True(each[0] > 0, $"a client was never served: {string.Join(",", served)}");
        Assert.True(each[0] * 2 >= each[^1], $"unfair share between sequential clients (min {each[0]}, max {each[^1]})");
        // A flood gets at most its share of the worker: about one job per round, like every sequential client.
        Assert.True(served[clients..].Max() <= 3 * each[^1] + 8, $"a flood got more than its share: {string.Join(",", served)}");
    }
}

using System.Diagnostics;
using TurboGen.Pipelines;
using TurboGen.Server.Scaling;
using Xunit.Abstractions;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>
/// What the queue costs per job on loopback (end to end through Redis minus the worker's run time, one idle worker, jobs one
/// after another), and throughput with 1, 2 and 3 workers (opt-in: Category=Slow). Figures go to docs/PERFORMANCE.md.
/// </summary>
public sealed class QueueOverheadTests(ITestOutputHelper output)
{
    private static GenerationRequest Tiny(int seed) => new() { Prompt = "a fox", Width = 64, Height = 64, Seed = seed };

    [Fact]
    public async Task QueueOverheadPerJob_OnLoopback_IsAFewMilliseconds()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync();
        var service = (QueuedGenerationService)gateway.Host.Service!;
        for (int i = 0; i < 5; i++) await service.Submit("warm", Tiny(i), CancellationToken.None).Result; // JIT, connections
        var overheads = new List<double>();
        for (int i = 0; i < 40; i++)
        {
            var clock = Stopwatch.StartNew();
            var result = await service.Submit("measure", Tiny(i), CancellationToken.None).Result;
            double total = clock.Elapsed.TotalMilliseconds;
            overheads.Add(total - result.Timings.TotalMilliseconds);
        }
        overheads.Sort();
        double median = overheads[overheads.Count / 2], mean = overheads.Average();
        output.WriteLine($"queue overhead per job: median {median:0.00} ms, mean {mean:0.00} ms, p90 {overheads[(int)(overheads.Count * 0.9)]:0.00} ms (40 jobs)");
        // Generous bound for a loaded 2-core CI machine; the measured figure is in docs/PERFORMANCE.md.
        Assert.True(median < 25, $"median queue overhead {median:0.00} ms");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Throughput_WithOneTwoAndThreeWorkers()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync(capacity: 256);
        var service = (QueuedGenerationService)gateway.Host.Service!;
        for (int workers = 1; workers <= 3; workers++)
        {
            if (workers > 1) await kit.StartWorkerAsync();
            await QueueTests.WaitForAsync(() => gateway.Host.Gateway!.Snapshot.Workers.Count == workers);
            await Task.WhenAll(Enumerable.Range(0, 6).Select(i => service.Submit($"w{i}", Tiny(i), CancellationToken.None).Result));
            const int jobs = 200;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, jobs).Select(i => service.Submit($"s{i % 6}", Tiny(i), CancellationToken.None).Result));
            output.WriteLine($"{workers} worker(s): {jobs / clock.Elapsed.TotalSeconds:0.0} jobs/s ({jobs} jobs in {clock.Elapsed.TotalSeconds:0.00} s)");
        }
    }
}

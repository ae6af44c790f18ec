using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Issue 17 with real processes: <c>turbogen serve --queue</c> (a gateway that loads no model) and three <c>turbogen worker</c>s
/// on the tiny model over a private redis-server on 127.0.0.1. One worker is paused in a job (TURBOGEN_TEST_PAUSE) and killed
/// with SIGKILL: every request is still answered exactly once, the killed worker's job by another within the lease.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ScaleOutTests(CliFixture fixture)
{
    /// <summary>The workers' minimum lease (QueueWorkerSettings.MinLease): the tiny model's jobs are far shorter.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task GatewayAndThreeWorkers_AWorkerKilledMidJob_EveryRequestAnsweredOnce_ItsJobFinishedElsewhereWithinTheLease()
    {
        if (OperatingSystem.IsWindows()) return; // redis-server and SIGKILL: Linux (CI) only
        await using var cluster = await QueueCluster.StartAsync(fixture);
        var doomed = cluster.Start("worker-paused", cluster.WorkerArgs, ("TURBOGEN_TEST_PAUSE", "worker:job"));
        cluster.Start("worker-2", cluster.WorkerArgs);
        cluster.Start("worker-3", cluster.WorkerArgs);
        using var http = cluster.StartGateway();

        // Ready: the gateway knows the model from the workers' registration and sees three heartbeats.
        await cluster.WaitReadyAsync(http, workers: 3);

        const int requests = 9;
        var answers = Enumerable.Range(0, requests).Select(seed => GenerateAsync(http, seed)).ToList();
        await cluster.WaitForAsync(() => Task.FromResult(doomed.Stderr.ToString().Contains("paused at worker:job", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        doomed.Process.Kill(); // SIGKILL: no goodbye, the lease must run out
        var killedAt = Stopwatch.StartNew();
        var results = await Task.WhenAll(answers);
        var lastAnswer = killedAt.Elapsed;

        Assert.All(results, r => Assert.True(r.Status == 200, r.Body));
        // Exactly once: each request got its own seed's image back, and the gateway dropped no second result.
        Assert.Equal(Enumerable.Range(0, requests).Select(i => (long)i), results.Select(r => r.Seed).Order());
        Assert.True(lastAnswer < Lease + TimeSpan.FromSeconds(6), $"the killed worker's job finished {lastAnswer.TotalSeconds:0.0} s after the kill (lease {Lease.TotalSeconds} s)");

        // /metrics renders the queue snapshot, refreshed every second: wait for the one that counted the take-over.
        string metrics = "";
        await cluster.WaitForAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(metrics = await http.GetStringAsync("/metrics"),
            @"turbogen_queue_lease_reclaims_total\{model=""[^""]+""\} [1-9]"), TimeSpan.FromSeconds(10));
        Assert.Contains("turbogen_queue_duplicates_dropped_total 0", metrics);
        Assert.Contains(cluster.Processes, p => p.Name != doomed.Name && p.Stderr.ToString().Contains("took over job", StringComparison.Ordinal));
    }

    private static async Task<(int Status, long Seed, string Body)> GenerateAsync(HttpClient http, int seed)
    {
        using var response = await http.PostAsync("/api/generate", new StringContent(
            $$"""{"prompt": "a fox", "width": 64, "height": 64, "seed": {{seed}}}""", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        long answered = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("seeds")[0].GetInt64() : -1;
        return ((int)response.StatusCode, answered, body);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TurboGen.Testing;

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
        await using var redis = await RedisServer.StartAsync();
        int port = FreePort();
        var processes = new List<(string Name, Process Process, StringBuilder Stderr)>();
        try
        {
            (string, Process, StringBuilder) Start(string name, string[] args, params (string, string)[] env)
            {
                var p = CliProcess.Start(fixture.Environment(fixture.PulledHome, env), fixture.NewWorkDir(), args, out _, out var stderr);
                processes.Add((name, p, stderr));
                return (name, p, stderr);
            }
            string[] worker = ["worker", "--queue", redis.Url, "--threads", "1"];
            var doomed = Start("worker-paused", worker, ("TURBOGEN_TEST_PAUSE", "worker:job"));
            Start("worker-2", worker);
            Start("worker-3", worker);
            Start("gateway", ["serve", "--queue", redis.Url, "--port", port.ToString(CultureInfo.InvariantCulture)]);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

            // Ready: the gateway knows the model from the workers' registration and sees three heartbeats.
            await WaitForAsync(async () => (await HealthAsync(http)) is { } h && h.GetProperty("status").GetString() == "ready"
                && h.GetProperty("queue").GetProperty("worker_count").GetInt32() == 3, TimeSpan.FromSeconds(120), processes);

            const int requests = 9;
            var answers = Enumerable.Range(0, requests).Select(seed => GenerateAsync(http, seed)).ToList();
            await WaitForAsync(() => Task.FromResult(doomed.Item3.ToString().Contains("paused at worker:job", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), processes);
            doomed.Item2.Kill(); // SIGKILL: no goodbye, the lease must run out
            var killedAt = Stopwatch.StartNew();
            var results = await Task.WhenAll(answers);
            var lastAnswer = killedAt.Elapsed;

            Assert.All(results, r => Assert.True(r.Status == 200, r.Body));
            // Exactly once: each request got its own seed's image back, and the gateway dropped no second result.
            Assert.Equal(Enumerable.Range(0, requests).Select(i => (long)i), results.Select(r => r.Seed).Order());
            Assert.True(lastAnswer < Lease + TimeSpan.FromSeconds(6), $"the killed worker's job finished {lastAnswer.TotalSeconds:0.0} s after the kill (lease {Lease.TotalSeconds} s)");

            // /metrics renders the queue snapshot, refreshed every second: wait for the one that counted the take-over.
            string metrics = "";
            await WaitForAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(metrics = await http.GetStringAsync("/metrics"),
                @"turbogen_queue_lease_reclaims_total\{model=""[^""]+""\} [1-9]"), TimeSpan.FromSeconds(10), processes);
            Assert.Contains("turbogen_queue_duplicates_dropped_total 0", metrics);
            Assert.Contains(processes, p => p.Name != doomed.Item1 && p.Stderr.ToString().Contains("took over job", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var (_, process, _) in processes)
            {
                if (!process.HasExited) CliProcess.Interrupt(process);
            }
            foreach (var (_, process, _) in processes)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try { await process.WaitForExitAsync(timeout.Token); } catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
                process.Dispose();
            }
        }
    }

    private static async Task<(int Status, long Seed, string Body)> GenerateAsync(HttpClient http, int seed)
    {
        using var response = await http.PostAsync("/api/generate", new StringContent(
            $$"""{"prompt": "a fox", "width": 64, "height": 64, "seed": {{seed}}}""", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        long answered = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("seeds")[0].GetInt64() : -1;
        return ((int)response.StatusCode, answered, body);
    }

    private static async Task<JsonElement?> HealthAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/health");
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, List<(string Name, Process Process, StringBuilder Stderr)> processes)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("timed out; the processes said:\n" + string.Join("\n", processes.Select(p => $"--- {p.Name} ---\n{p.Stderr}")));
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

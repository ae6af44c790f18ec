using System.Net;
using System.Text.Json;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Scaling;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>
/// The gateway and workers over a real redis-server (127.0.0.1, private port), in one process: API traffic spread over two
/// workers with the same images as one process, backpressure, cancellation across the queue, Redis going away and coming back.
/// </summary>
public sealed class QueueTests
{
    private const string Request = """{"prompt": "a fox", "width": 64, "height": 64, "steps": 2, "seed": 7}""";

    [Fact]
    public async Task ApiTraffic_IsServedByTheWorkers_WithTheImagesOfOneProcess_AndShowsInHealthAndMetrics()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync();
        await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync();
        Assert.Null(gateway.Host.Service as GenerationWorker); // the gateway loaded no model

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostJsonAsync(gateway.Http, "/api/generate", Request)));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        var images = answers.Select(a => a.Body.GetProperty("images")[0].GetProperty("data").GetString()).Distinct().ToList();
        Assert.Single(images); // one seed, one image, whichever worker ran it

        await using (var local = await TestServer.StartAsync())
        {
            var (status, body, _) = await PostJsonAsync(local.Http, "/api/generate", Request);
            Assert.Equal(200, status);
            Assert.Equal(images[0], body.GetProperty("images")[0].GetProperty("data").GetString());
        }

        var service = (QueuedGenerationService)gateway.Host.Service!;
        Assert.Equal(0, service.Pending);
        await WaitForAsync(() => gateway.Host.Gateway!.Snapshot.Workers.Count == 2 && gateway.Host.Gateway.Snapshot.Workers.Sum(w => w.Jobs) >= 8);
        var health = await GetJsonAsync(gateway.Http, "/health");
        Assert.Equal("ready", health.GetProperty("status").GetString());
        Assert.Equal("connected", health.GetProperty("queue").GetProperty("redis").GetString());
        Assert.Equal(2, health.GetProperty("queue").GetProperty("worker_count").GetInt32());
        Assert.All(health.GetProperty("queue").GetProperty("workers").EnumerateArray(), w => Assert.Equal("tiny/SdxlTurbo", w.GetProperty("model").GetString()));
        string metrics = await gateway.Http.GetStringAsync("/metrics");
        Assert.Contains("turbogen_queue_workers{model=\"tiny/SdxlTurbo\"} 2", metrics);
        Assert.Contains("turbogen_queue_entries{model=\"tiny/SdxlTurbo\"} 0", metrics);
        Assert.Contains("turbogen_worker_jobs_total{", metrics);
        Assert.Contains("turbogen_queue_overhead_seconds_count 8", metrics);
    }

    [Fact]
    public async Task PendingBound_Gives429WithRetryAfter_AndACancelledJobIsSkippedByTheWorker()
    {
        await using var kit = await QueueTestKit.StartAsync();
        int first = await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync(capacity: 2);
        await kit.StopWorkerAsync(first); // the model stays registered; nothing reads the queue now
        var service = gateway.Host.Service!;

        using var cancel = new CancellationTokenSource();
        var cancelled = service.Submit("a", new GenerationRequest { Prompt = "cancel me", Width = 64, Height = 64, Seed = 1 }, cancel.Token);
        var kept = service.Submit("b", new GenerationRequest { Prompt = "keep me", Width = 64, Height = 64, Seed = 2 }, CancellationToken.None);
        var (status, body, response) = await PostJsonAsync(gateway.Http, "/api/generate", Request);
        Assert.Equal(429, status);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("busy", body.ToString(), StringComparison.OrdinalIgnoreCase);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Result);
        await kit.StartWorkerAsync();
        GenerationResult result;
        try { result = await kept.Result.WaitAsync(TimeSpan.FromSeconds(60)); }
        catch (Exception e) { throw new Xunit.Sdk.XunitException(string.Join("\n", kit.Log) + e); }
        Assert.Equal(2, result.Seeds[0]);
        // The cancelled job was skipped, not run: once the stream is drained the new worker has run exactly one job.
        var queue = gateway.Host.Gateway!;
        await WaitForAsync(() => queue.Snapshot is { Depth: 0, Workers.Count: 1 } s && s.Workers[0].Jobs >= 1);
        Assert.Equal(1, queue.Snapshot.Workers[0].Jobs);
    }

    [Fact]
    public async Task RedisDown_Answers503WithAClearError_AndTheGatewayRecovers()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync();
        Assert.Equal(200, (await PostJsonAsync(gateway.Http, "/api/generate", Request)).Status);

        await kit.Redis.StopAsync();
        await WaitForAsync(() => !gateway.Host.Gateway!.Connected);
        var (status, body, response) = await PostJsonAsync(gateway.Http, "/api/generate", Request);
        Assert.Equal(503, status);
        Assert.Equal("queue_unavailable", body.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("unreachable", body.GetProperty("error").GetProperty("message").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
        await WaitForAsync(async () => (await gateway.Http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable);
        var health = await GetJsonAsync(gateway.Http, "/health");
        Assert.Equal("queue_unavailable", health.GetProperty("status").GetString());

        await kit.Redis.StartAgainAsync(); // empty: no persistence, so the workers must recreate the group
        await WaitForAsync(async () => (await PostJsonAsync(gateway.Http, "/api/generate", Request)).Status == 200, TimeSpan.FromSeconds(60));
        // /health follows the queue snapshot, refreshed when the connection is restored (asynchronously) and every second.
        await WaitForAsync(async () => (await gateway.Http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(5));
    }

    internal static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    internal static async Task WaitForAsync(Func<bool> condition, TimeSpan? timeout = null) => await WaitForAsync(() => Task.FromResult(condition()), timeout);

    internal static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(100);
        }
    }
}

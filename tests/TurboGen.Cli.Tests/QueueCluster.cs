using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TurboGen.Testing;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Real <c>turbogen serve --queue</c> and <c>turbogen worker</c> processes around a private redis-server on 127.0.0.1
/// (issue 17's scale-out tests): starts them, waits on conditions (failing with what every process said), and stops them all.
/// </summary>
internal sealed class QueueCluster : IAsyncDisposable
{
    private readonly CliFixture _fixture;

    private QueueCluster(CliFixture fixture, RedisServer redis)
    {
        _fixture = fixture;
        Redis = redis;
    }

    public RedisServer Redis { get; }
    public List<(string Name, Process Process, StringBuilder Stderr)> Processes { get; } = [];

    public static async Task<QueueCluster> StartAsync(CliFixture fixture) => new(fixture, await RedisServer.StartAsync());

    /// <summary>The worker command line on this cluster's Redis (one ONNX thread: the machine is shared).</summary>
    public string[] WorkerArgs => ["worker", "--queue", Redis.Url, "--threads", "1"];

    public (string Name, Process Process, StringBuilder Stderr) Start(string name, string[] args, params (string, string)[] env)
    {
        var p = CliProcess.Start(_fixture.Environment(_fixture.PulledHome, env), _fixture.NewWorkDir(), args, out _, out var stderr);
        Processes.Add((name, p, stderr));
        return (name, p, stderr);
    }

    /// <summary>Starts a gateway on a free port and returns its HTTP client.</summary>
    public HttpClient StartGateway()
    {
        int port = FreePort();
        Start("gateway", ["serve", "--queue", Redis.Url, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Waits until the gateway is ready and sees <paramref name="workers"/> heartbeats.</summary>
    public Task WaitReadyAsync(HttpClient gateway, int workers) =>
        WaitForAsync(async () => (await HealthAsync(gateway)) is { } h && h.GetProperty("status").GetString() == "ready"
            && h.GetProperty("queue").GetProperty("worker_count").GetInt32() == workers, TimeSpan.FromSeconds(120));

    public static async Task<JsonElement?> HealthAsync(HttpClient http)
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

    public async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("timed out; " + Said());
            await Task.Delay(100);
        }
    }

    /// <summary>What every process wrote to stderr, for failure messages.</summary>
    public string Said() => "the processes said:\n" + string.Join("\n", Processes.Select(p => $"--- {p.Name} ---\n{p.Stderr}"));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process, _) in Processes)
        {
            if (!process.HasExited) CliProcess.Interrupt(process);
        }
        foreach (var (_, process, _) in Processes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try { await process.WaitForExitAsync(timeout.Token); } catch (OperationCanceledException) { process.Kill(entireProcessTree: true); }
            process.Dispose();
        }
        await Redis.DisposeAsync();
    }
}

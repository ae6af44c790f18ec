using TurboGen.Server.Scaling;
using TurboGen.Testing;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>A private redis-server, in-process workers on the tiny model and a gateway (a real server with <c>Queue</c> set).</summary>
public sealed class QueueTestKit : IAsyncDisposable
{
    private readonly List<(CancellationTokenSource Stop, Task Run)> _workers = [];

    private QueueTestKit(RedisServer redis) => Redis = redis;

    public RedisServer Redis { get; }
    public TestServer? Gateway { get; private set; }
    public List<string> Log { get; } = [];
    public static string ModelPath => TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew);

    public static async Task<QueueTestKit> StartAsync() => new(await RedisServer.StartAsync());

    public static ServerOptions WorkerOptions() => new()
    {
        ModelPath = ModelPath,
        ModelId = "tiny/SdxlTurbo",
        TinyVaePath = Path.Combine(ModelPath, "taesd"),
        Runtime = new Runtime.RuntimeOptions { Threads = 1 },
    };

    /// <summary>Starts an in-process worker and waits until it has registered.</summary>
    public async Task<int> StartWorkerAsync(QueueWorkerSettings? settings = null, Func<ServerOptions, ServerOptions>? configure = null)
    {
        var options = configure is null ? WorkerOptions() : configure(WorkerOptions());
        var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Task.Run(() => QueueWorkerHost.RunAsync(options, QueueAddress.Parse(Redis.Url), settings ?? new QueueWorkerSettings(),
            line => { lock (Log) Log.Add(line); }, stop.Token, _ => ready.TrySetResult()));
        await Task.WhenAny(ready.Task, run, Task.Delay(TimeSpan.FromSeconds(60)));
        if (run.IsFaulted) await run;
        Assert.True(ready.Task.IsCompleted, "the worker did not start within 60 s");
        _workers.Add((stop, run));
        return _workers.Count - 1;
    }

    public async Task StopWorkerAsync(int index)
    {
        var (stop, run) = _workers[index];
        await stop.CancelAsync();
        await run;
    }

    public async Task<TestServer> StartGatewayAsync(int capacity = 32)
    {
        Gateway = await TestServer.StartAsync(configure: o => o with { Queue = QueueAddress.Parse(Redis.Url), QueueModel = "tiny/SdxlTurbo", QueueCapacity = capacity });
        return Gateway;
    }

    public async ValueTask DisposeAsync()
    {
        if (Gateway is not null) await Gateway.DisposeAsync();
        foreach (var (stop, run) in _workers)
        {
            await stop.CancelAsync();
            try { await run; }
            catch (OperationCanceledException) { }
            catch (Exception e) { throw new InvalidOperationException("a worker failed; its log:\n" + string.Join("\n", Log), e); }
        }
        await Redis.DisposeAsync();
    }
}

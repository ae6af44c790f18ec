using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>
/// A gateway's link to the job queue (<c>serve --queue</c>): the Redis connection, the model as its workers registered it,
/// the <see cref="QueuedGenerationService"/>, the reader of this gateway's reply stream (woken by pub/sub, with a short poll
/// as the fallback, since StackExchange.Redis has no blocking XREAD), and a snapshot of the queue refreshed every second for
/// <c>/health</c>, <c>/metrics</c> and Retry-After. When Redis goes away, jobs waiting for a reply are answered 503 and new
/// submissions get 503 until it is back (the multiplexer reconnects by itself).
/// </summary>
public sealed class QueueGateway : IAsyncDisposable
{
    /// <summary>How long the reply reader waits for a pub/sub wake-up before it polls the stream anyway.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConnectionMultiplexer _redis;
    private readonly QueueAddress _address;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _refresh = new(0);
    private readonly QueueMetrics _queueMetrics = new();
    private readonly string _gatewayId = Guid.NewGuid().ToString("N");
    private QueueSnapshot _snapshot = QueueSnapshot.Empty;
    private ControlNetSet _controlNets = ControlNetSet.Empty;
    private UpscalerSet _upscalers = UpscalerSet.LanczosOnly;
    private QueuedGenerationService? _service;
    private Task _reader = Task.CompletedTask, _monitor = Task.CompletedTask;

    private QueueGateway(ConnectionMultiplexer redis, QueueAddress address, ILogger logger)
    {
        _redis = redis;
        _address = address;
        _logger = logger;
    }

    public QueueAddress Address => _address;
    public QueueSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>The ControlNets the live workers have loaded (as of the last snapshot): listed and accepted by the APIs, run on a worker that has them.</summary>
    public ControlNetSet ControlNets => Volatile.Read(ref _controlNets);

    /// <summary>Lanczos plus the ESRGAN upscalers the live workers have loaded (as of the last snapshot).</summary>
    public UpscalerSet Upscalers => Volatile.Read(ref _upscalers);

    /// <summary>The service, once a worker has registered the model (null before).</summary>
    public QueuedGenerationService? Service => Volatile.Read(ref _service);

    /// <summary>Connects (returning even while Redis is down: it keeps retrying) and starts the queue snapshot.</summary>
    public static async Task<QueueGateway> ConnectAsync(QueueAddress address, ILogger logger)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(address.Configuration()).ConfigureAwait(false);
        return new QueueGateway(redis, address, logger);
    }

    /// <summary>
    /// Waits until a worker has registered <paramref name="modelName"/> (any of its names), then serves it: returns the
    /// service. <paramref name="waiting"/> is told what it waits for.
    /// </summary>
    public async Task<QueuedGenerationService> ServeAsync(string modelName, int capacity, ServerMetrics metrics, TimeProvider clock, Action<string> waiting,
        CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var ct = linked.Token;
        WireModelInfo? info = null;
        while (info is null)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var db = _redis.GetDatabase();
                if (await db.StringGetAsync(QueueAddress.Alias(modelName)).ConfigureAwait(false) is { IsNullOrEmpty: false } id
                    && await db.StringGetAsync(QueueAddress.Model(id.ToString())).ConfigureAwait(false) is { IsNullOrEmpty: false } json)
                {
                    info = JsonSerializer.Deserialize(json.ToString(), ScalingJson.Default.WireModelInfo);
                }
                else
                {
                    waiting($"no worker has registered the model '{modelName}' on {_address} yet");
                }
            }
            catch (RedisException e)
            {
                waiting($"the job queue {_address} is unreachable ({e.GetType().Name})");
            }
            if (info is null) await Task.Delay(500, ct).ConfigureAwait(false);
        }
        if (!Enum.TryParse<ModelFamily>(info.Family, out var family)) throw new TurboGenException($"The workers registered '{info.Id}' with an unknown family '{info.Family}'.");
        var model = new LoadedModelInfo(info.Id, family, info.DefaultSize, info.HasTinyVae, info.HasVaeEncoder, info.Sampler) { Names = info.Names, GuidanceEmbedding = info.GuidanceEmbedding };
        var service = new QueuedGenerationService(_redis, _address, _gatewayId, model, capacity, metrics, _queueMetrics, clock, _logger, () => Snapshot);
        _redis.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Interactive) return;
            _logger.LogWarning("Job queue {Address} lost ({Failure}); jobs waiting for a reply are answered 503", _address, e.FailureType);
            service.FailAll(e.Exception ?? new TurboGenException($"Redis connection lost ({e.FailureType})."));
        };
        _redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Interactive) return;
            _logger.LogInformation("Job queue {Address} is back", _address);
            try { _refresh.Release(); } // refresh the snapshot (health, workers) now, not at the next tick
            catch (ObjectDisposedException) { } // the gateway stopped
        };
        await _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(QueueAddress.RepliesWake(_gatewayId)), (_, _) => _wake.Release()).ConfigureAwait(false);
        Volatile.Write(ref _service, service);
        _reader = Task.Run(() => ReadRepliesAsync(service, _stop.Token));
        _monitor = Task.Run(() => MonitorAsync(info.Id, _stop.Token));
        return service;
    }

    private async Task ReadRepliesAsync(QueuedGenerationService service, CancellationToken ct)
    {
        RedisKey key = QueueAddress.Replies(_gatewayId);
        RedisValue last = "0-0";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var entries = await _redis.GetDatabase().StreamReadAsync(key, last, 256).ConfigureAwait(false);
                if (entries.Length == 0)
                {
                    await _wake.WaitAsync(PollInterval, ct).ConfigureAwait(false);
                    continue;
                }
                foreach (var entry in entries)
                {
                    last = entry.Id;
                    try { service.Apply(entry); }
                    catch (Exception e) when (e is not OperationCanceledException) { _logger.LogError(e, "Reply {Id} could not be applied", entry.Id); }
                }
                _redis.GetDatabase().StreamDelete(key, entries.Select(e => e.Id).ToArray(), CommandFlags.FireAndForget);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private async Task MonitorAsync(string model, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            QueueSnapshot snapshot;
            try
            {
                snapshot = await WorkerDirectory.SnapshotAsync(_redis.GetDatabase(), model).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                snapshot = Snapshot with { Connected = false, Error = $"The job queue ({_address}) is unreachable: {e.Message}" };
            }
            if (!_redis.IsConnected) snapshot = snapshot with { Connected = false, Error = snapshot.Error ?? $"The job queue ({_address}) is unreachable." };
            Volatile.Write(ref _snapshot, snapshot);
            if (snapshot.Connected)
            {
                Volatile.Write(ref _controlNets, WorkerModels.ControlNets(snapshot.Workers));
                Volatile.Write(ref _upscalers, WorkerModels.Upscalers(snapshot.Workers));
            }
            try { await _refresh.WaitAsync(1000, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>True when submissions can reach Redis now.</summary>
    public bool Connected => _redis.IsConnected;

    /// <summary>The queue's lines of <c>/metrics</c>.</summary>
    public string RenderMetrics()
    {
        var sb = new StringBuilder();
        var service = Service;
        _queueMetrics.Render(sb, service?.Model.Id ?? "", Snapshot, service?.SessionMoves ?? 0, service?.SessionsByWorker());
        return sb.ToString();
    }

    /// <summary>The queue's part of <c>/health</c>: where it is, whether it is reachable, its depth and the live workers.</summary>
    public QueueHealth Health()
    {
        var s = Snapshot;
        bool connected = _redis.IsConnected && s.Connected;
        return new QueueHealth(_address.ToString(), connected ? "connected" : "unreachable", s.Depth, s.Running, s.Reclaims, s.Workers.Count, s.Workers);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await Task.WhenAll(_reader, _monitor).ConfigureAwait(false); } catch (OperationCanceledException) { }
        Service?.FailAll(new OperationCanceledException("The gateway is stopping."));
        await _redis.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();
        _refresh.Dispose();
    }
}

/// <summary>The <c>queue</c> object of a gateway's <c>/health</c>.</summary>
public sealed record QueueHealth(
    [property: System.Text.Json.Serialization.JsonPropertyName("address")] string Address,
    [property: System.Text.Json.Serialization.JsonPropertyName("redis")] string Redis,
    [property: System.Text.Json.Serialization.JsonPropertyName("entries")] long Entries,
    [property: System.Text.Json.Serialization.JsonPropertyName("running")] long Running,
    [property: System.Text.Json.Serialization.JsonPropertyName("lease_reclaims")] long LeaseReclaims,
    [property: System.Text.Json.Serialization.JsonPropertyName("worker_count")] int WorkerCount,
    [property: System.Text.Json.Serialization.JsonPropertyName("workers")] IReadOnlyList<WorkerInfo> Workers);

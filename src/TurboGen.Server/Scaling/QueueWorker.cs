using System.Diagnostics;
using System.Text.Json;
using StackExchange.Redis;
using TurboGen.Runtime;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>How a worker reads, holds and reports jobs.</summary>
public sealed record QueueWorkerSettings
{
    /// <summary>The consumer name in the group and the worker's id in heartbeats and metrics.</summary>
    public string WorkerId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    public string Provider { get; init; } = "cpu";

    /// <summary>How often a running job's lease is renewed (XCLAIM to itself, which resets the entry's idle time).</summary>
    public TimeSpan RenewInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The shortest lease: an entry idle this long (no renewal) is taken over by another worker (XAUTOCLAIM).</summary>
    public TimeSpan MinLease { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>An idle worker polls this often when no pub/sub wake-up came (StackExchange.Redis has no blocking XREADGROUP).</summary>
    public TimeSpan Poll { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A job taken over this many times (its workers died or stalled) fails instead of running again.</summary>
    public int MaxReclaims { get; init; } = 3;

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The worker side of the queue: reads its model's stream with the consumer group <see cref="QueueAddress.Group"/>, one job at a
/// time and only when idle (a newly added entry, or one whose lease ran out: XAUTOCLAIM with min-idle = <see cref="Lease"/>),
/// runs it on the local <see cref="GenerationWorker"/>, streams started/progress replies to the submitting gateway and finishes
/// with one Lua script that publishes the outcome only if no other worker did (SET NX on the job id), then XACKs and XDELs.
/// While a job runs its lease is renewed every <see cref="QueueWorkerSettings.RenewInterval"/>; a cancel published for it stops
/// it between steps, and a job cancelled before it was read is skipped.
/// </summary>
public sealed partial class QueueWorker
{
    private readonly IConnectionMultiplexer _redis;
    private readonly GenerationWorker _local;
    private readonly UpscalerSet _upscalers;
    private readonly ControlNetSet _controlNets;
    private readonly QueueWorkerSettings _settings;
    private readonly Action<string> _log;
    private readonly string _model;
    private readonly RedisKey _ownStream;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private RunningJob? _running;
    private long _jobs;

    public QueueWorker(IConnectionMultiplexer redis, GenerationWorker local, UpscalerSet upscalers, ControlNetSet controlNets,
        QueueWorkerSettings settings, Action<string> log)
    {
        _redis = redis;
        _local = local;
        _upscalers = upscalers;
        _controlNets = controlNets;
        _settings = settings;
        _log = log;
        _model = local.Model.Id;
        _ownStream = QueueAddress.WorkerJobs(_model, settings.WorkerId);
    }

    /// <summary>The lease: at least <see cref="QueueWorkerSettings.MinLease"/> and 4 × the measured job time (an overloaded host may delay renewals).</summary>
    public TimeSpan Lease => TimeSpan.FromTicks(Math.Max(_settings.MinLease.Ticks, 4 * _local.JobTime.Ticks));

    public long JobsDone => Interlocked.Read(ref _jobs);

    /// <summary>Registers the model, then serves jobs until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await RegisterAsync().ConfigureAwait(false);
        var subscriber = _redis.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(QueueAddress.Wake(_model)), (_, _) => _wake.Release()).ConfigureAwait(false);
        await subscriber.SubscribeAsync(RedisChannel.Literal(QueueAddress.CancelChannel(_model)), (_, id) =>
        {
            if (Volatile.Read(ref _running) is { } running && running.Id == id.ToString()) running.Cts.Cancel();
        }).ConfigureAwait(false);
        var heartbeat = Task.Run(() => HeartbeatAsync(cancellationToken), CancellationToken.None);
        long lastClaimCheck = Stopwatch.GetTimestamp(); // the first scan for expired and orphaned entries one interval after start
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var db = _redis.GetDatabase();
                    (StreamEntry Entry, RedisKey Stream, bool Reclaimed)? next = null;
                    if (Stopwatch.GetElapsedTime(lastClaimCheck) >= _settings.RenewInterval)
                    {
                        lastClaimCheck = Stopwatch.GetTimestamp();
                        if (await ClaimExpiredAsync(db, QueueAddress.Jobs(_model), (long)Lease.TotalMilliseconds).ConfigureAwait(false) is { } claimed)
                            next = (claimed, QueueAddress.Jobs(_model), true);
                        else next = await AdoptOrphanAsync(db).ConfigureAwait(false);
                    }
                    // Its own stream first (the live sessions assigned to it), then the model's.
                    next ??= await ReadNewAsync(db, _ownStream).ConfigureAwait(false) is { } own ? (own, _ownStream, false) : null;
                    next ??= await ReadNewAsync(db, QueueAddress.Jobs(_model)).ConfigureAwait(false) is { } shared ? (shared, QueueAddress.Jobs(_model), false) : null;
                    if (next is { } job) await RunEntryAsync(job.Entry, job.Stream, job.Reclaimed, cancellationToken).ConfigureAwait(false);
                    else await _wake.WaitAsync(_settings.Poll, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not (RedisException or TimeoutException or OperationCanceledException))
                {
                    _log($"an entry could not be processed ({e.GetType().Name}: {e.Message}); going on");
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    _log($"job queue unreachable ({e.GetType().Name}: {e.Message}); retrying");
                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                    // Redis came back empty (no persistence): register the model again and recreate the group.
                    if (e is RedisServerException { Message: var m } && m.Contains("NOGROUP", StringComparison.Ordinal)) await RegisterAsync().ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await heartbeat.ConfigureAwait(false);
            try { await WorkerDirectory.LeaveAsync(_redis.GetDatabase(), Info()).ConfigureAwait(false); } catch (RedisException) { }
        }
    }

    internal static bool IsEntry(StreamEntry e) => !e.Id.IsNullOrEmpty && e.Values is { Length: > 0 };

    /// <summary>The model facts gateways need (under its id and an alias per name) and the consumer group.</summary>
    private async Task RegisterAsync()
    {
        var model = _local.Model;
        var info = new WireModelInfo(model.Id, model.Family.ToString(), model.DefaultSize, model.HasTinyVae, model.HasVaeEncoder, model.Sampler, model.Names,
            _upscalers.All.Select(u => u.Name).ToList(), model.GuidanceEmbedding);
        var db = _redis.GetDatabase();
        await db.StringSetAsync(QueueAddress.Model(model.Id), JsonSerializer.Serialize(info, ScalingJson.Default.WireModelInfo)).ConfigureAwait(false);
        foreach (string name in model.Names.Append(model.Id)) await db.StringSetAsync(QueueAddress.Alias(name), model.Id).ConfigureAwait(false);
        await EnsureGroupAsync().ConfigureAwait(false);
    }

    private async Task EnsureGroupAsync()
    {
        foreach (var stream in new RedisKey[] { QueueAddress.Jobs(_model), _ownStream })
        {
            try
            {
                await _redis.GetDatabase().StreamCreateConsumerGroupAsync(stream, QueueAddress.Group, "0", createStream: true).ConfigureAwait(false);
            }
            catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
                // another worker created it
            }
        }
        await _redis.GetDatabase().SetAddAsync(QueueAddress.WorkerStreams(_model), _settings.WorkerId).ConfigureAwait(false);
    }

    private WorkerInfo Info() => new(_settings.WorkerId, _model, _settings.Provider, Volatile.Read(ref _running) is not null, JobsDone,
        _local.JobTime.TotalMilliseconds, Environment.MachineName, Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds)
    {
        ControlNets = _controlNets.All.Where(c => c.Unusable is null)
            .Select(c => new WireControlNet(c.Name, c.ControlNet.UsesTextTime, c.ControlNet.CrossAttentionDim, c.ControlNet.DownResidualCount)).ToList(),
        Upscalers = _upscalers.All.Where(u => u.NativeScale is not null).Select(u => new WireUpscaler(u.Name, u.NativeScale)).ToList(),
    };

    private async Task HeartbeatAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try { await WorkerDirectory.BeatAsync(_redis.GetDatabase(), Info()).ConfigureAwait(false); }
            catch (Exception e) when (e is RedisException or TimeoutException) { }
            try { await Task.Delay(_settings.HeartbeatInterval, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }
}

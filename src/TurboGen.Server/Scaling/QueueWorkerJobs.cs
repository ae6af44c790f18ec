using System.Diagnostics;
using System.Text.Json;
using StackExchange.Redis;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>Running one job: the skip checks, the lease renewal, the run on the local worker and the one-time outcome.</summary>
public sealed partial class QueueWorker
{
    /// <summary>Publishes the outcome only if no worker did yet (SET NX on the job id), then acknowledges and deletes the entry.</summary>
    private const string FinishScript = """
        local first = 0
        if redis.call('SET', KEYS[1], ARGV[5], 'NX', 'EX', 86400) then
          local args = {'XADD', KEYS[2], 'MAXLEN', '~', '10000', '*', 'job', ARGV[1], 'kind', ARGV[4], 'worker', ARGV[5]}
          for i = 6, #ARGV do args[#args + 1] = ARGV[i] end
          redis.call(unpack(args))
          redis.call('EXPIRE', KEYS[2], 3600)
          redis.call('PUBLISH', KEYS[4], ARGV[1])
          first = 1
        end
        redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
        redis.call('XDEL', KEYS[3], ARGV[3])
        return first
        """;

    /// <summary>Renews the lease if this worker still holds the entry: 1 renewed, 0 gone (finished elsewhere), -1 taken over.</summary>
    private const string RenewScript = """
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
        if #p == 0 then return 0 end
        if p[1][2] ~= ARGV[3] then return -1 end
        redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
        return 1
        """;

    /// <summary>The test hook (<see cref="TestHooks"/>) a kill test pauses a worker at: a job read and started, not yet run.</summary>
    public const string PausePoint = "worker:job";

    private async Task RunEntryAsync(StreamEntry entry, RedisKey stream, bool reclaimed, CancellationToken stopping)
    {
        var db = _redis.GetDatabase();
        string id = entry["job"].ToString(), gateway = entry["gw"].ToString(), kind = entry["kind"].ToString();
        if (reclaimed)
        {
            db.StringIncrement(QueueAddress.Reclaims(_model), flags: CommandFlags.FireAndForget);
            long attempts = await db.StringIncrementAsync(QueueAddress.Attempts(id)).ConfigureAwait(false);
            db.KeyExpire(QueueAddress.Attempts(id), TimeSpan.FromDays(1), CommandFlags.FireAndForget);
            _log($"took over job {id} (lease of {Lease.TotalSeconds:0.#} s ran out; take-over {attempts})");
            if (attempts > _settings.MaxReclaims)
            {
                await FinishAsync(entry, stream, ReplyKinds.Failed, ReplyEncoder.Failure(new TurboGenException(
                    $"The job was taken over {attempts} times: every worker that ran it died or stalled.")), 0).ConfigureAwait(false);
                return;
            }
        }
        if (await db.KeyExistsAsync([QueueAddress.Cancelled(id), QueueAddress.Done(id)]).ConfigureAwait(false) > 0)
        {
            await FinishAsync(entry, stream, ReplyKinds.Cancelled, [], 0).ConfigureAwait(false);
            return;
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        Volatile.Write(ref _running, new RunningJob(id, cts));
        using var renewStop = new CancellationTokenSource();
        var renewal = Task.Run(() => RenewAsync(stream, entry.Id, cts, renewStop.Token), CancellationToken.None);
        var clock = Stopwatch.StartNew();
        try
        {
            Reply(gateway, id, ReplyKinds.Started, []);
            TestHooks.PauseAt(PausePoint, new Progress<string>(_log));
            var result = await ExecuteAsync(entry, id, gateway, kind, cts.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _jobs);
            await FinishAsync(entry, stream, ReplyKinds.Result, ReplyEncoder.Result(result, clock.Elapsed.TotalMilliseconds), clock.Elapsed.TotalMilliseconds).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            await FinishAsync(entry, stream, ReplyKinds.Cancelled, [], clock.Elapsed.TotalMilliseconds).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not RedisException)
        {
            await FinishAsync(entry, stream, ReplyKinds.Failed, ReplyEncoder.Failure(e), clock.Elapsed.TotalMilliseconds).ConfigureAwait(false);
        }
        finally
        {
            renewStop.Cancel();
            await renewal.ConfigureAwait(false);
            Volatile.Write(ref _running, null);
        }
    }

    private async Task<object> ExecuteAsync(StreamEntry entry, string id, string gateway, string kind, CancellationToken ct)
    {
        var db = _redis.GetDatabase();
        string session = entry["session"].ToString();
        var names = entry["blobs"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries);
        var values = names.Length == 0 ? [] : await db.StringGetAsync(names.Select(n => (RedisKey)QueueAddress.Blob(id, n)).ToArray()).ConfigureAwait(false);
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            if (values[i].IsNull)
                throw new TurboGenException($"The job's '{names[i]}' input expired before a worker took it (inputs are kept {QueuedGenerationService.BlobTtl.TotalMinutes:0} minutes).");
            blobs[names[i]] = (byte[])values[i]!;
        }
        db.KeyDelete(names.Select(n => (RedisKey)QueueAddress.Blob(id, n)).ToArray(), CommandFlags.FireAndForget);
        byte[] Blob(string name) => blobs.TryGetValue(name, out var bytes) ? bytes : throw new TurboGenException($"The job carries no '{name}' input.");
        var args = JsonSerializer.Deserialize(entry["args"].ToString(), ScalingJson.Default.JobArgs) ?? new JobArgs();
        Action<GenerationJob, GenerationProgress> observer = (_, p) => Progress(gateway, id, p);
        GenerationRequest Request() => RequestCodec.Decode(entry["req"].ToString(), Blob, ControlNetNamed);
        return kind switch
        {
            JobKinds.Generate => await _local.Submit(session, Request(), ct, observer).Result.ConfigureAwait(false),
            JobKinds.Hires => await _local.SubmitHires(session, Request(), _upscalers.Resolve(args.Upscaler, "upscaler"), args.Width, args.Height,
                args.Hires ?? new TurboGen.Upscaling.HiresOptions(), ct, observer).Result.ConfigureAwait(false),
            JobKinds.Decode => await _local.SubmitDecode(session, BlobCodec.Tensor(Blob("latents"), "latents"), args.TinyVae, ct).Result.ConfigureAwait(false),
            JobKinds.Upscale => await _local.SubmitUpscale(session, BlobCodec.Image(Blob("image"), "image"), _upscalers.Resolve(args.Upscaler, "upscaler"),
                args.Width, args.Height, ct, args.Hires, observer).Result.ConfigureAwait(false),
            _ => throw new TurboGenException($"Unknown job kind '{kind}' (this worker runs {JobKinds.Generate}, {JobKinds.Hires}, {JobKinds.Decode}, {JobKinds.Upscale})."),
        };
    }

    private IControlNet ControlNetNamed(string name, int index) => _controlNets.Require($"controlnet[{index}].model", name);

    private void Progress(string gateway, string id, GenerationProgress p)
    {
        var fields = new List<RedisValue>
        {
            "data", JsonSerializer.Serialize(new WireProgress(p.Stage, p.Step, p.TotalSteps, p.Elapsed.TotalMilliseconds), ScalingJson.Default.WireProgress),
        };
        if (p.Preview is { } preview)
        {
            fields.Add("preview");
            fields.Add(BlobCodec.Image(preview));
        }
        Reply(gateway, id, ReplyKinds.Progress, fields);
    }

    /// <summary>A non-final reply (started, progress): fire and forget, in order on the connection.</summary>
    private void Reply(string gateway, string id, string kind, List<RedisValue> fields)
    {
        var entries = new List<NameValueEntry> { new("job", id), new("kind", kind), new("worker", _settings.WorkerId) };
        for (int i = 0; i + 1 < fields.Count; i += 2) entries.Add(new NameValueEntry(fields[i], fields[i + 1]));
        var db = _redis.GetDatabase();
        db.StreamAdd(QueueAddress.Replies(gateway), entries.ToArray(), maxLength: 10000, useApproximateMaxLength: true, flags: CommandFlags.FireAndForget);
        db.Publish(RedisChannel.Literal(QueueAddress.RepliesWake(gateway)), id, CommandFlags.FireAndForget);
    }

    private async Task FinishAsync(StreamEntry entry, RedisKey stream, string kind, List<RedisValue> fields, double runMilliseconds)
    {
        string id = entry["job"].ToString(), gateway = entry["gw"].ToString();
        var argv = new List<RedisValue> { id, QueueAddress.Group, entry.Id, kind, _settings.WorkerId };
        argv.AddRange(fields);
        var first = (long)await _redis.GetDatabase().ScriptEvaluateAsync(FinishScript,
            [QueueAddress.Done(id), QueueAddress.Replies(gateway), stream, QueueAddress.RepliesWake(gateway)], argv.ToArray()).ConfigureAwait(false);
        if (first == 0 && kind == ReplyKinds.Result) _log($"job {id} was already answered by another worker; this result ({runMilliseconds:0} ms) is dropped");
    }

    private async Task RenewAsync(RedisKey stream, RedisValue entryId, CancellationTokenSource job, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try { await Task.Delay(_settings.RenewInterval, stop).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            try
            {
                var held = (long)await _redis.GetDatabase().ScriptEvaluateAsync(RenewScript, [stream],
                    [QueueAddress.Group, entryId, _settings.WorkerId]).ConfigureAwait(false);
                if (held <= 0)
                {
                    _log($"job entry {entryId} {(held == 0 ? "was finished by another worker" : "was taken over by another worker")}; stopping it here");
                    job.Cancel();
                    return;
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Redis away: keep running; the finish will tell whether the outcome still counts
            }
        }
    }
}

/// <summary>The job a worker runs now and the source that cancels it.</summary>
internal sealed record RunningJob(string Id, CancellationTokenSource Cts);

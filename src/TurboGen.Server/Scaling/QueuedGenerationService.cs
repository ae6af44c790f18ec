using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Tensors;
using TurboGen.Upscaling;

namespace TurboGen.Server.Scaling;

/// <summary>
/// The gateway's <see cref="IGenerationService"/>: every job becomes an entry on its model's Redis stream (images and
/// tensors by reference to blob keys with a TTL), and the job handle is completed from this gateway's reply stream
/// (<see cref="GatewayReplies"/>). A job id (GUID) per job; only the first terminal reply for an id is used, so a client never
/// gets two results. Admission is one Lua script: XLEN of the model's stream against the pending bound, then XADD and a wake-up
/// PUBLISH, so the bound holds across gateways. Submitting never blocks on Redis: a full queue seen in the last snapshot is
/// refused at once (<see cref="ServerBusyException"/> from Submit), a refusal by the script fails the job's result with it. Cancelling a job's token answers the submitter at once and publishes the cancel;
/// the worker stops the job between steps, or skips it if it has not read it yet.
/// </summary>
public sealed class QueuedGenerationService : IGenerationService
{
    /// <summary>Blobs (input images, tensors) live this long: a job not read by then fails with a clear error.</summary>
    public static readonly TimeSpan BlobTtl = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Admission and add, atomically: KEYS[3] is the stream the job goes to (the model's, or a live session's worker's own
    /// stream, then ARGV[9] = 1 and KEYS[4] that worker's heartbeat, which must still exist: else {2}, choose another).
    /// </summary>
    private const string AddScript = """
        if ARGV[9] == '1' and redis.call('EXISTS', KEYS[4]) == 0 then return {2, 0} end
        local len = redis.call('XLEN', KEYS[1])
        if KEYS[3] ~= KEYS[1] then len = len + redis.call('XLEN', KEYS[3]) end
        if len >= tonumber(ARGV[1]) then return {0, len} end
        redis.call('XADD', KEYS[3], '*', 'job', ARGV[2], 'kind', ARGV[3], 'gw', ARGV[4], 'session', ARGV[5], 'req', ARGV[6], 'args', ARGV[7], 'blobs', ARGV[8])
        redis.call('PUBLISH', KEYS[2], ARGV[2])
        return {1, len + 1}
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly QueueAddress _address;
    private readonly string _model;
    private readonly int _capacity;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Func<QueueSnapshot> _snapshot;
    private readonly ConcurrentDictionary<string, PendingJob> _pending = new(StringComparer.Ordinal);
    private readonly SessionAffinity _affinity;
    private PendingJob? _current;

    internal QueuedGenerationService(IConnectionMultiplexer redis, QueueAddress address, string gatewayId, LoadedModelInfo model, int capacity,
        ServerMetrics metrics, QueueMetrics queueMetrics, TimeProvider clock, ILogger logger, Func<QueueSnapshot> snapshot)
    {
        _redis = redis;
        _address = address;
        GatewayId = gatewayId;
        Model = model;
        _model = model.Id;
        _capacity = Math.Max(1, capacity);
        Metrics = metrics;
        QueueMetrics = queueMetrics;
        _clock = clock;
        _logger = logger;
        _snapshot = snapshot;
        _affinity = new SessionAffinity(gatewayId, snapshot);
    }

    /// <summary>Live sessions moved to another worker since start (theirs died or left).</summary>
    public long SessionMoves => _affinity.Moves;

    /// <summary>This gateway's live sessions per assigned worker.</summary>
    public IReadOnlyDictionary<string, int> SessionsByWorker() => _affinity.SessionsByWorker();

    public string GatewayId { get; }
    public LoadedModelInfo Model { get; }
    public ServerMetrics Metrics { get; }
    public QueueMetrics QueueMetrics { get; }

    /// <summary>Entries on the model's stream (waiting or running, all gateways), as of the last snapshot.</summary>
    public int QueueDepth => (int)Math.Min(int.MaxValue, _snapshot().Depth);

    public GenerationJob? Current => Volatile.Read(ref _current) is { } p && _pending.ContainsKey(p.Id) ? p.Job : null;

    /// <summary>Jobs of this gateway waiting for their outcome.</summary>
    public int Pending => _pending.Count;

    public GenerationJob<GenerationResult> Submit(string sessionKey, GenerationRequest request, CancellationToken cancellationToken,
        Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue<GenerationResult>(sessionKey, JobKinds.Generate, request, new JobArgs(), [], observer, cancellationToken);

    public GenerationJob<IReadOnlyList<RgbImage>> SubmitDecode(string sessionKey, FloatTensor latents, bool tinyVae, CancellationToken cancellationToken) =>
        Enqueue<IReadOnlyList<RgbImage>>(sessionKey, JobKinds.Decode, null, new JobArgs(TinyVae: tinyVae), [("latents", BlobCodec.Tensor(latents))], null, cancellationToken);

    public GenerationJob<RgbImage> SubmitUpscale(string sessionKey, RgbImage image, IUpscaler upscaler, int width, int height, CancellationToken cancellationToken,
        HiresOptions? refine = null, Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue<RgbImage>(sessionKey, JobKinds.Upscale, null, new JobArgs(upscaler.Name, width, height, refine), [("image", BlobCodec.Image(image))], observer, cancellationToken);

    public GenerationJob<GenerationResult> SubmitHires(string sessionKey, GenerationRequest request, IUpscaler upscaler, int width, int height, HiresOptions hires,
        CancellationToken cancellationToken, Action<GenerationJob, GenerationProgress>? observer = null) =>
        Enqueue<GenerationResult>(sessionKey, JobKinds.Hires, request, new JobArgs(upscaler.Name, width, height, hires), [], observer, cancellationToken);

    public bool InterruptCurrent()
    {
        if (Volatile.Read(ref _current) is not { } current || !_pending.ContainsKey(current.Id)) return false;
        Cancel(current, CancellationToken.None);
        return true;
    }

    private GenerationJob<T> Enqueue<T>(string sessionKey, string kind, GenerationRequest? request, JobArgs args, IReadOnlyList<(string Name, byte[] Bytes)> extraBlobs,
        Action<GenerationJob, GenerationProgress>? observer, CancellationToken cancellationToken) where T : class
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_redis.IsConnected) throw Unavailable(null);
        string id = Guid.NewGuid().ToString("N");
        var job = new GenerationJob<T>(sessionKey, _clock.GetUtcNow(), (_, _) => throw new InvalidOperationException("A queued job runs on a worker."));
        if (observer is not null) job.ProgressChanged += observer;
        var encoded = request is null ? null : RequestCodec.Encode(request);
        var blobs = (encoded?.Blobs.Select(kv => (kv.Key, kv.Value)) ?? []).Concat(extraBlobs).ToList();
        var pending = new PendingJob(id, job, request, _clock.GetTimestamp());
        // The last snapshot refuses at once when the model's queue is already full; the script below decides exactly.
        var snapshot = _snapshot();
        if (snapshot.Connected && snapshot.Depth >= _capacity)
        {
            Metrics.Rejected();
            throw new ServerBusyException((int)Math.Min(int.MaxValue, snapshot.Depth), RetryAfter(snapshot.Depth - _capacity + 1));
        }
        _pending[id] = pending;
        pending.Registration = cancellationToken.Register(() => Cancel(pending, cancellationToken));
        _ = AddAsync(pending, kind, sessionKey, encoded?.Json ?? "", args, blobs);
        return job;
    }

    /// <summary>
    /// Stores the blobs and runs the admission script without blocking the caller; a refusal or an unreachable Redis
    /// completes the job with <see cref="ServerBusyException"/> (429) or <see cref="ServiceUnavailableException"/> (503).
    /// </summary>
    private async Task AddAsync(PendingJob pending, string kind, string sessionKey, string json, JobArgs args, List<(string Name, byte[] Bytes)> blobs)
    {
        string id = pending.Id;
        var db = _redis.GetDatabase();
        Exception? failure = null;
        try
        {
            await Task.WhenAll(blobs.Select(b => db.StringSetAsync(QueueAddress.Blob(id, b.Name), b.Bytes, BlobTtl))).ConfigureAwait(false);
            string argsJson = JsonSerializer.Serialize(args, ScalingJson.Default.JobArgs), blobNames = string.Join(',', blobs.Select(b => b.Name));
            async Task<RedisResult[]> AddTo(string? worker) => (RedisResult[])(await db.ScriptEvaluateAsync(AddScript,
                [QueueAddress.Jobs(_model), QueueAddress.Wake(_model), worker is null ? QueueAddress.Jobs(_model) : QueueAddress.WorkerJobs(_model, worker),
                 worker is null ? QueueAddress.Jobs(_model) : QueueAddress.Worker(worker)],
                [_capacity, id, kind, GatewayId, sessionKey, json, argsJson, blobNames, worker is null ? "0" : "1"]).ConfigureAwait(false))!;
            RedisResult[] reply;
            var needs = WorkerModels.Needs(pending.Request, args);
            if (needs.Count > 0)
            {
                // A ControlNet or ESRGAN upscaler: a live worker that has it loaded, on its own stream.
                var refused = new HashSet<string>(StringComparer.Ordinal);
                while (true)
                {
                    var worker = _snapshot().Workers.Where(w => !refused.Contains(w.Id) && WorkerModels.Has(w, needs))
                        .OrderBy(w => w.Busy).ThenBy(_ => Random.Shared.Next()).FirstOrDefault()
                        ?? throw new InvalidRequestException(needs[0].Split(':')[0],
                            $"No live worker has {WorkerModels.Describe(needs)} loaded (start one with turbogen worker --{needs[0].Split(':')[0]}).");
                    reply = await AddTo(worker.Id).ConfigureAwait(false);
                    if ((long)reply[0] != 2) break;
                    refused.Add(worker.Id);
                }
            }
            else if (SessionKeys.IsLive(sessionKey))
            {
                // A live session's frames go to its worker while that worker's heartbeat lives; else to the next one chosen.
                var refused = new HashSet<string>(StringComparer.Ordinal);
                string? worker;
                while (true)
                {
                    worker = await _affinity.ChooseAsync(db, sessionKey, refused).ConfigureAwait(false);
                    reply = await AddTo(worker).ConfigureAwait(false);
                    if ((long)reply[0] != 2 || worker is null) break;
                    refused.Add(worker);
                }
                if (worker is null) _affinity.Forget(db, sessionKey);
                else if ((long)reply[0] == 1 && await _affinity.AssignAsync(db, sessionKey, worker).ConfigureAwait(false) is { } previous)
                    _logger.LogWarning("Live session {Session} moved from worker {Previous} (no heartbeat) to {Worker}", sessionKey, previous, worker);
            }
            else
            {
                reply = await AddTo(null).ConfigureAwait(false);
            }
            if ((long)reply[0] == 0)
            {
                foreach (var (name, _) in blobs) db.KeyDelete(QueueAddress.Blob(id, name), CommandFlags.FireAndForget);
                long depth = (long)reply[1];
                Metrics.Rejected();
                failure = new ServerBusyException((int)Math.Min(int.MaxValue, depth), RetryAfter(depth - _capacity + 1));
            }
            else
            {
                Metrics.SetQueueDepth((int)(long)reply[1]);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            failure = Unavailable(e);
        }
        catch (InvalidRequestException e)
        {
            foreach (var (name, _) in blobs) db.KeyDelete(QueueAddress.Blob(id, name), CommandFlags.FireAndForget);
            failure = e;
        }
        if (failure is not null && _pending.TryRemove(id, out _))
        {
            pending.Registration.Dispose();
            pending.Job.MarkFinished(_clock.GetUtcNow());
            pending.Job.Fail(failure);
        }
    }

    /// <summary>Retry-After: the measured job time of the model's workers × the jobs ahead, shared by the live workers.</summary>
    private TimeSpan RetryAfter(long jobsAhead)
    {
        var snapshot = _snapshot();
        double jobSeconds = snapshot.MeanJobMilliseconds > 0 ? snapshot.MeanJobMilliseconds / 1000 : FairAdmission.DefaultJobTime.TotalSeconds;
        return TimeSpan.FromSeconds(Math.Max(0.1, jobSeconds * Math.Max(1, jobsAhead) / Math.Max(1, snapshot.Workers.Count)));
    }

    private ServiceUnavailableException Unavailable(Exception? inner) => new("queue_unavailable",
        $"The job queue ({_address}) is unreachable{(inner is null ? "" : $" ({inner.GetType().Name})")}; retry in a few seconds.", TimeSpan.FromSeconds(2), inner);

    /// <summary>The submitter cancelled: answer it now, and tell the workers (a running job stops, an unread one is skipped).</summary>
    private void Cancel(PendingJob pending, CancellationToken token)
    {
        if (!_pending.TryRemove(pending.Id, out _)) return;
        pending.Job.MarkFinished(_clock.GetUtcNow());
        Metrics.JobCancelled();
        pending.Job.Cancel(token);
        try
        {
            var db = _redis.GetDatabase();
            db.StringSet(QueueAddress.Cancelled(pending.Id), "1", TimeSpan.FromMinutes(10), flags: CommandFlags.FireAndForget);
            db.Publish(RedisChannel.Literal(QueueAddress.CancelChannel(_model)), pending.Id, CommandFlags.FireAndForget);
        }
        catch (RedisException e)
        {
            _logger.LogDebug(e, "Could not publish the cancellation of job {Id}", pending.Id);
        }
    }

    /// <summary>Redis went away: every job still waiting is answered with 503 now, not left without an answer.</summary>
    internal void FailAll(Exception cause)
    {
        foreach (var id in _pending.Keys.ToList())
        {
            if (!_pending.TryRemove(id, out var pending)) continue;
            pending.Registration.Dispose();
            pending.Job.MarkFinished(_clock.GetUtcNow());
            Metrics.JobFailed();
            pending.Job.Fail(new ServiceUnavailableException("queue_unavailable",
                $"The job queue ({_address}) went away before the job's result came back; retry in a few seconds.", TimeSpan.FromSeconds(2), cause));
        }
    }

    /// <summary>Applies one reply entry; a reply for a job this gateway no longer waits for (a duplicate, or cancelled) is dropped.</summary>
    internal void Apply(StreamEntry entry)
    {
        string id = entry["job"].ToString();
        string kind = entry["kind"].ToString();
        if (!_pending.TryGetValue(id, out var pending))
        {
            if (kind is ReplyKinds.Result or ReplyKinds.Failed) QueueMetrics.DuplicateDropped();
            return;
        }
        switch (kind)
        {
            case ReplyKinds.Started:
                pending.Worker = entry["worker"].ToString();
                pending.Job.Worker = pending.Worker;
                pending.Job.MarkStarted(_clock.GetUtcNow());
                Volatile.Write(ref _current, pending);
                return;
            case ReplyKinds.Progress:
                var p = JsonSerializer.Deserialize(entry["data"].ToString(), ScalingJson.Default.WireProgress)!;
                var preview = entry["preview"];
                pending.Job.Report(new GenerationProgress(p.Stage, p.Step, p.TotalSteps, TimeSpan.FromMilliseconds(p.ElapsedMilliseconds),
                    preview.IsNullOrEmpty ? null : BlobCodec.Image((byte[])preview!, "preview")));
                return;
        }
        if (!_pending.TryRemove(id, out _)) return;
        pending.Registration.Dispose();
        var job = pending.Job;
        if (!entry["worker"].IsNullOrEmpty) job.Worker = entry["worker"].ToString();
        if (job.StartedAt is null) job.MarkStarted(_clock.GetUtcNow());
        job.MarkFinished(_clock.GetUtcNow());
        try
        {
            switch (kind)
            {
                case ReplyKinds.Result:
                    var (result, runMs) = ReplyDecoder.Result(job, entry, pending.Request);
                    var elapsed = _clock.GetElapsedTime(pending.Submitted);
                    Metrics.JobCompleted(elapsed, result as GenerationResult);
                    QueueMetrics.Completed(entry["worker"].ToString(), elapsed, TimeSpan.FromMilliseconds(runMs));
                    job.Complete(result);
                    break;
                case ReplyKinds.Failed:
                    var failure = JsonSerializer.Deserialize(entry["data"].ToString(), ScalingJson.Default.WireFailure)!;
                    Metrics.JobFailed();
                    job.Fail(failure.Parameter is { } parameter ? new InvalidRequestException(parameter, failure.Message) : new TurboGenException(failure.Message));
                    break;
                default:
                    Metrics.JobCancelled();
                    job.Cancel(CancellationToken.None);
                    break;
            }
        }
        catch (Exception e) when (e is TurboGenException or JsonException or InvalidCastException)
        {
            job.Fail(new TurboGenException($"The reply for job {id} could not be read: {e.Message}", e));
        }
    }

    /// <summary>A job of this gateway waiting for its outcome.</summary>
    private sealed class PendingJob(string id, GenerationJob job, GenerationRequest? request, long submitted)
    {
        public string Id { get; } = id;
        public GenerationJob Job { get; } = job;
        public GenerationRequest? Request { get; } = request;
        public long Submitted { get; } = submitted;
        public string? Worker { get; set; }
        public CancellationTokenRegistration Registration { get; set; }
    }
}

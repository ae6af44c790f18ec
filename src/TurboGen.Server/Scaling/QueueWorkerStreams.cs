using StackExchange.Redis;

namespace TurboGen.Server.Scaling;

/// <summary>
/// Reading entries: new ones (XREADGROUP &gt;), ones whose lease ran out (XAUTOCLAIM), and the entries of another worker's own
/// stream (<see cref="QueueAddress.WorkerJobs"/>: its live sessions' frames) once that worker's heartbeat is gone, so a
/// live session whose worker died loses no frame that was already queued for it. An adopted job that needs a ControlNet or
/// upscaler this worker lacks is passed on (<see cref="PassOnAsync"/>).
/// </summary>
public sealed partial class QueueWorker
{
    /// <summary>A new entry of <paramref name="stream"/> for this worker, or null.</summary>
    private async Task<StreamEntry?> ReadNewAsync(IDatabase db, RedisKey stream)
    {
        var read = await db.StreamReadGroupAsync(stream, QueueAddress.Group, _settings.WorkerId, ">", 1).ConfigureAwait(false);
        return read.Length > 0 && IsEntry(read[0]) ? read[0] : null;
    }

    /// <summary>An entry of <paramref name="stream"/> idle at least <paramref name="minIdleMs"/> (its worker stopped renewing), claimed for this worker.</summary>
    private async Task<StreamEntry?> ClaimExpiredAsync(IDatabase db, RedisKey stream, long minIdleMs)
    {
        var claim = await db.StreamAutoClaimAsync(stream, QueueAddress.Group, _settings.WorkerId, minIdleMs, "0-0", 1).ConfigureAwait(false);
        if (claim.DeletedIds.Length > 0) await db.StreamAcknowledgeAsync(stream, QueueAddress.Group, claim.DeletedIds).ConfigureAwait(false);
        // (StackExchange.Redis reports "nothing claimed" as one entry without id or values.)
        return claim.ClaimedEntries.FirstOrDefault(IsEntry) is var claimed && IsEntry(claimed) ? claimed : null;
    }

    /// <summary>
    /// One entry from the own stream of a worker whose heartbeat expired: first one it had read (taken over at once, counted
    /// as a reclaim), else one it never read. A dead worker's stream found empty is deleted and unlisted. Null when none.
    /// </summary>
    private async Task<(StreamEntry Entry, RedisKey Stream, bool Reclaimed)?> AdoptOrphanAsync(IDatabase db)
    {
        var members = await db.SetMembersAsync(QueueAddress.WorkerStreams(_model)).ConfigureAwait(false);
        foreach (var member in members)
        {
            string worker = member.ToString();
            if (worker == _settings.WorkerId || await db.KeyExistsAsync(QueueAddress.Worker(worker)).ConfigureAwait(false)) continue;
            RedisKey stream = QueueAddress.WorkerJobs(_model, worker);
            try
            {
                if (await ClaimExpiredAsync(db, stream, 0).ConfigureAwait(false) is { } held)
                {
                    if (await PassOnAsync(db, held, stream, worker).ConfigureAwait(false)) continue;
                    _log($"adopting job {held["job"]} of worker {worker} (no heartbeat)");
                    return (held, stream, true);
                }
                if (await ReadNewAsync(db, stream).ConfigureAwait(false) is { } waiting)
                {
                    if (await PassOnAsync(db, waiting, stream, worker).ConfigureAwait(false)) continue;
                    _log($"adopting queued job {waiting["job"]} of worker {worker} (no heartbeat)");
                    return (waiting, stream, false);
                }
                if (await db.StreamLengthAsync(stream).ConfigureAwait(false) == 0)
                {
                    await db.KeyDeleteAsync(stream).ConfigureAwait(false);
                    await db.SetRemoveAsync(QueueAddress.WorkerStreams(_model), member).ConfigureAwait(false);
                }
            }
            catch (RedisServerException e) when (e.Message.Contains("NOGROUP", StringComparison.Ordinal))
            {
                // another worker deleted it after adopting its last entry
                await db.SetRemoveAsync(QueueAddress.WorkerStreams(_model), member).ConfigureAwait(false);
            }
        }
        return null;
    }
}

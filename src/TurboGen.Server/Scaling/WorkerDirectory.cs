using System.Text.Json;
using StackExchange.Redis;

namespace TurboGen.Server.Scaling;

/// <summary>
/// Worker registration in Redis: each worker's heartbeat is a key with a TTL (<see cref="QueueAddress.Worker"/>) listed in
/// its model's set (<see cref="QueueAddress.Workers"/>); a member whose key expired is dropped from the set by the next reader.
/// </summary>
public static class WorkerDirectory
{
    /// <summary>A heartbeat key outlives this many missed beats.</summary>
    public static readonly TimeSpan HeartbeatTtl = TimeSpan.FromSeconds(5);

    public static async Task BeatAsync(IDatabase db, WorkerInfo info)
    {
        var batch = db.CreateBatch();
        var set = batch.StringSetAsync(QueueAddress.Worker(info.Id), JsonSerializer.Serialize(info, ScalingJson.Default.WorkerInfo), HeartbeatTtl);
        var add = batch.SetAddAsync(QueueAddress.Workers(info.Model), info.Id);
        batch.Execute();
        await Task.WhenAll(set, add).ConfigureAwait(false);
    }

    public static Task LeaveAsync(IDatabase db, WorkerInfo info) => Task.WhenAll(
        db.KeyDeleteAsync(QueueAddress.Worker(info.Id)), db.SetRemoveAsync(QueueAddress.Workers(info.Model), info.Id));

    /// <summary>The model's queue now: stream length, running (pending) entries, reclaims and live workers.</summary>
    public static async Task<QueueSnapshot> SnapshotAsync(IDatabase db, string model)
    {
        RedisKey stream = QueueAddress.Jobs(model);
        var depth = db.StreamLengthAsync(stream);
        var reclaims = db.StringGetAsync(QueueAddress.Reclaims(model));
        var members = db.SetMembersAsync(QueueAddress.Workers(model));
        long running = 0;
        try
        {
            running = (await db.StreamPendingAsync(stream, QueueAddress.Group).ConfigureAwait(false)).PendingMessageCount;
        }
        catch (RedisServerException)
        {
            // no stream or group yet
        }
        var ids = await members.ConfigureAwait(false);
        var workers = new List<WorkerInfo>();
        if (ids.Length > 0)
        {
            var beats = await db.StringGetAsync(ids.Select(id => (RedisKey)QueueAddress.Worker(id.ToString())).ToArray()).ConfigureAwait(false);
            for (int i = 0; i < ids.Length; i++)
            {
                if (beats[i].IsNullOrEmpty) db.SetRemove(QueueAddress.Workers(model), ids[i], CommandFlags.FireAndForget);
                else if (JsonSerializer.Deserialize(beats[i].ToString(), ScalingJson.Default.WorkerInfo) is { } w) workers.Add(w);
            }
        }
        var r = await reclaims.ConfigureAwait(false);
        return new QueueSnapshot(true, await depth.ConfigureAwait(false), running, r.IsNullOrEmpty ? 0 : (long)r, workers.OrderBy(w => w.Id, StringComparer.Ordinal).ToList(), null);
    }
}

using System.Text.Json;
using StackExchange.Redis;

namespace TurboGen.Server.Scaling;

/// <summary>
/// A job adopted from a dead worker's stream that names a ControlNet or ESRGAN upscaler this worker has not loaded (the gateway
/// sent it to the dead worker because that one had it): moved to the own stream of a live worker that has it, or, when none
/// has, answered with the gateway's own refusal (422 naming the field) instead of failing on a worker that cannot run it.
/// </summary>
public sealed partial class QueueWorker
{
    /// <summary>Adds the entry's fields to the target worker's stream, then acknowledges and deletes it from the dead worker's, at once.</summary>
    private const string MoveScript = """
        local args = {'XADD', KEYS[1], '*'}
        for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
        redis.call(unpack(args))
        redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
        redis.call('XDEL', KEYS[2], ARGV[2])
        redis.call('PUBLISH', KEYS[3], 'moved')
        return 1
        """;

    /// <summary>
    /// True when the entry was dealt with here without running it: moved to a live worker that has what it needs, or refused
    /// because no live worker has. False: this worker has everything the job needs and runs it.
    /// </summary>
    private async Task<bool> PassOnAsync(IDatabase db, StreamEntry entry, RedisKey stream, string deadWorker)
    {
        var args = JsonSerializer.Deserialize(entry["args"].ToString(), ScalingJson.Default.JobArgs) ?? new JobArgs();
        var needs = WorkerModels.Needs(entry["req"].ToString(), args);
        if (needs.Count == 0 || WorkerModels.Has(Info(), needs)) return false;

        string id = entry["job"].ToString();
        var snapshot = await WorkerDirectory.SnapshotAsync(db, _model).ConfigureAwait(false);
        var target = snapshot.Workers.Where(w => w.Id != _settings.WorkerId && w.Id != deadWorker && WorkerModels.Has(w, needs))
            .OrderBy(w => w.Busy).ThenBy(w => w.Id, StringComparer.Ordinal).FirstOrDefault();
        if (target is null)
        {
            _log($"job {id} of worker {deadWorker} (no heartbeat) needs {WorkerModels.Describe(needs)}, which no live worker has: refused");
            string field = needs[0].Split(':')[0];
            await FinishAsync(entry, stream, ReplyKinds.Failed, ReplyEncoder.Failure(new InvalidRequestException(field,
                $"No live worker has {WorkerModels.Describe(needs)} loaded: worker {deadWorker}, which had it, stopped before running the job (start one with turbogen worker --{field}).")),
                0).ConfigureAwait(false);
            return true;
        }
        var argv = new List<RedisValue> { QueueAddress.Group, entry.Id };
        foreach (var field in entry.Values)
        {
            argv.Add(field.Name);
            argv.Add(field.Value);
        }
        await db.ScriptEvaluateAsync(MoveScript, [QueueAddress.WorkerJobs(_model, target.Id), stream, QueueAddress.Wake(_model)], argv.ToArray()).ConfigureAwait(false);
        _log($"passed job {id} of worker {deadWorker} (no heartbeat) on to worker {target.Id}: it needs {WorkerModels.Describe(needs)}, which this worker has not loaded");
        return true;
    }
}

using System.Collections.Concurrent;
using StackExchange.Redis;

namespace TurboGen.Server.Scaling;

/// <summary>
/// Sticky live sessions on a gateway: each live session (<see cref="Generation.SessionKeys.IsLive"/>) is assigned one worker,
/// recorded in Redis under <see cref="QueueAddress.Affinity"/> with a lease (<see cref="Lease"/>, renewed by every frame), and
/// its jobs go to that worker's own stream (<see cref="QueueAddress.WorkerJobs"/>), so the worker's caches (prompt embeddings)
/// stay warm. When the worker's heartbeat is gone (the admission script checks it atomically with the add) the session is
/// assigned the least loaded live worker; entries left in the dead worker's stream are adopted by the others (<see cref="QueueWorker"/>).
/// </summary>
internal sealed class SessionAffinity(string gatewayId, Func<QueueSnapshot> snapshot)
{
    /// <summary>An assignment not renewed by a frame for this long expires (the session closed or went quiet).</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, (string Worker, long At)> _assigned = new(StringComparer.Ordinal);
    private long _moves;

    /// <summary>Sessions moved to another worker because theirs died or left.</summary>
    public long Moves => Interlocked.Read(ref _moves);

    /// <summary>
    /// The worker <paramref name="session"/> should run on now: its assignment in Redis if that worker is still live and
    /// not in <paramref name="refused"/>, else the live worker with the fewest sessions of this gateway (null when none is live).
    /// </summary>
    public async Task<string?> ChooseAsync(IDatabase db, string session, IReadOnlySet<string> refused)
    {
        var live = snapshot().Workers.Select(w => w.Id).Where(id => !refused.Contains(id)).ToList();
        var stored = await db.StringGetAsync(QueueAddress.Affinity(gatewayId, session)).ConfigureAwait(false);
        string? current = stored.IsNullOrEmpty ? null : stored.ToString();
        if (current is not null && !refused.Contains(current) && live.Contains(current, StringComparer.Ordinal)) return current;
        if (live.Count == 0) return null;
        var load = SessionsByWorker();
        var busy = snapshot().Workers.ToDictionary(w => w.Id, w => w.Busy, StringComparer.Ordinal);
        return live.OrderBy(id => load.GetValueOrDefault(id)).ThenBy(id => busy.GetValueOrDefault(id)).ThenBy(_ => Random.Shared.Next()).First();
    }

    /// <summary>Records that <paramref name="session"/>'s job went to <paramref name="worker"/>; returns the previous worker if it moved.</summary>
    public async Task<string?> AssignAsync(IDatabase db, string session, string worker)
    {
        string? previous = _assigned.TryGetValue(session, out var p) ? p.Worker : null;
        long now = Environment.TickCount64;
        _assigned[session] = (worker, now);
        foreach (var (key, value) in _assigned)
        {
            if (now - value.At > Lease.TotalMilliseconds) _assigned.TryRemove(key, out _);
        }
        await db.StringSetAsync(QueueAddress.Affinity(gatewayId, session), worker, Lease).ConfigureAwait(false);
        if (previous is null || previous == worker) return null;
        Interlocked.Increment(ref _moves);
        return previous;
    }

    /// <summary>Forgets <paramref name="session"/> (no live worker took it: its job went to the shared stream).</summary>
    public void Forget(IDatabase db, string session)
    {
        _assigned.TryRemove(session, out _);
        db.KeyDelete(QueueAddress.Affinity(gatewayId, session), CommandFlags.FireAndForget);
    }

    /// <summary>The number of this gateway's live sessions (a frame within the lease) assigned to each worker.</summary>
    public IReadOnlyDictionary<string, int> SessionsByWorker() =>
        _assigned.Values.GroupBy(v => v.Worker, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}

using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Server.Realtime;

/// <summary>
/// The live real-time sessions of one server (one per WebSocket), registered with dependency injection. Each session
/// is created with its own dependencies from the container and submits its jobs to the shared
/// <see cref="IGenerationService"/> under its own session key, so the worker serves sessions round-robin.
/// </summary>
public sealed class RealtimeSessions(IServiceProvider services, ILogger<RealtimeSessions> logger)
{
    private readonly ConcurrentDictionary<string, RealtimeSession> _sessions = new(StringComparer.Ordinal);
    private long _nextId;

    /// <summary>Sessions connected now.</summary>
    public int Count => _sessions.Count;

    /// <summary>The session keys connected now (they are also the keys jobs are queued under).</summary>
    public IReadOnlyCollection<string> Ids => _sessions.Keys.ToArray();

    /// <summary>
    /// Runs a session on an accepted WebSocket until it closes; its work is cancelled and its state dropped. Images it keeps
    /// go to <paramref name="owner"/>'s history.
    /// </summary>
    public async Task RunAsync(WebSocket socket, HistoryOwner owner, CancellationToken aborted)
    {
        string id = Generation.SessionKeys.LivePrefix + Interlocked.Increment(ref _nextId);
        using var channel = new WebSocketChannel(socket, RequestLimits.MaxMessageBytes);
        var session = ActivatorUtilities.CreateInstance<RealtimeSession>(services, id, channel, owner, aborted);
        _sessions[id] = session;
        logger.LogInformation("Real-time session {Id} connected ({Count} open)", id, _sessions.Count);
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(id, out _);
            logger.LogInformation("Real-time session {Id} closed ({Count} open)", id, _sessions.Count);
        }
    }
}

using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using TurboGen.Server.Generation;
using TurboGen.Server.Styles;

namespace TurboGen.Server.Realtime;

/// <summary>
/// The live real-time sessions of one server (one per WebSocket). Sessions submit their jobs to the shared
/// <see cref="IGenerationService"/> under their own session key, so the worker serves them round-robin.
/// </summary>
public sealed class RealtimeHub(ModelHost modelHost, ServerOptions options, ServerMetrics metrics, ILogger logger)
{
    private readonly ConcurrentDictionary<string, RealtimeSession> _sessions = new(StringComparer.Ordinal);
    private long _nextId;

    public ModelHost ModelHost { get; } = modelHost;
    public ServerOptions Options { get; } = options;
    public ServerMetrics Metrics { get; } = metrics;
    public StylePresets Styles { get; } = StylePresets.Default;
    public OutputHistory History { get; } = new(options.OutputDir);
    internal ILogger Logger { get; } = logger;

    /// <summary>Sessions connected now.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>The session keys connected now (they are also the keys jobs are queued under).</summary>
    public IReadOnlyCollection<string> SessionIds => _sessions.Keys.ToArray();

    internal int DefaultSize => ModelHost.Service?.Model.DefaultSize ?? 512;

    /// <summary>Runs a session on an accepted WebSocket until it closes; its work is cancelled and its state dropped.</summary>
    public async Task RunSessionAsync(WebSocket socket, CancellationToken aborted)
    {
        string id = "rt-" + Interlocked.Increment(ref _nextId);
        var session = new RealtimeSession(id, socket, this, aborted);
        _sessions[id] = session;
        Logger.LogInformation("Real-time session {Id} connected ({Count} open)", id, _sessions.Count);
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _sessions.TryRemove(id, out _);
            Logger.LogInformation("Real-time session {Id} closed ({Count} open)", id, _sessions.Count);
        }
    }
}

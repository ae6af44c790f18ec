using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace TurboGen.Server.Policy;

/// <summary>
/// What a slow or idle client may hold, applied to Kestrel (<see cref="Apply"/>) and the WebSocket keep-alive. The defaults
/// are tighter than Kestrel's own (30 s for headers, 130 s keep-alive, 240 B/s bodies, unlimited connections) because a
/// TurboGen server answers a few clients with small requests; a slowloris client is cut after
/// <see cref="RequestHeadersTimeout"/>, a trickling upload after its grace period.
/// </summary>
public sealed record ConnectionLimits
{
    /// <summary>All request headers must arrive within this time (slowloris); Kestrel then closes the connection.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An idle keep-alive connection is closed after this time.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A request body must arrive at least this fast (bytes per second) once <see cref="MinDataRateGrace"/> has passed.</summary>
    public double MinRequestBodyBytesPerSecond { get; init; } = 1024;

    /// <summary>A response must be read at least this fast (bytes per second) once <see cref="MinDataRateGrace"/> has passed.</summary>
    public double MinResponseBytesPerSecond { get; init; } = 240;

    /// <summary>How long a body or response may be slower than its minimum rate (Kestrel requires more than 1 s).</summary>
    public TimeSpan MinDataRateGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Open connections (HTTP and WebSocket); beyond it Kestrel refuses new ones.</summary>
    public long MaxConnections { get; init; } = 1024;

    /// <summary>Open WebSockets (real-time sessions).</summary>
    public long MaxWebSockets { get; init; } = 256;

    /// <summary>A WebSocket is pinged this often; one that does not answer within <see cref="WebSocketTimeout"/> is closed.</summary>
    public TimeSpan WebSocketKeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan WebSocketTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Applies these limits (and the body-size limit of <see cref="RequestLimits.MaxBodyBytes"/>) to Kestrel.</summary>
    public static void Apply(KestrelServerLimits kestrel, ConnectionLimits limits)
    {
        kestrel.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrel.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.MinRequestBodyDataRate = new MinDataRate(limits.MinRequestBodyBytesPerSecond, limits.MinDataRateGrace);
        kestrel.MinResponseDataRate = new MinDataRate(limits.MinResponseBytesPerSecond, limits.MinDataRateGrace);
        kestrel.MaxConcurrentConnections = limits.MaxConnections;
        kestrel.MaxConcurrentUpgradedConnections = limits.MaxWebSockets;
        kestrel.MaxRequestBodySize = RequestLimits.MaxBodyBytes;
    }
}

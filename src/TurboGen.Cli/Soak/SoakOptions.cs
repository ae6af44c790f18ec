using System.Net;

namespace TurboGen.Cli.Soak;

/// <summary>What <see cref="SoakRun"/> puts on a server: real-time sessions typing and API clients, for a fixed time.</summary>
public sealed record SoakOptions
{
    /// <summary>The server's base URL; only loopback addresses are accepted (a load test never leaves this machine).</summary>
    public required Uri Server { get; init; }

    public string? ApiKey { get; init; }

    /// <summary>WebSocket sessions, each typing a sentence one character every <see cref="KeyInterval"/>.</summary>
    public int Sessions { get; init; } = 50;

    /// <summary>API clients, each sending requests back to back (OpenAI, A1111 and native in turn), each from its own loopback address.</summary>
    public int Clients { get; init; } = 20;

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan KeyInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Image side of every request (small: the soak measures the server, not the model).</summary>
    public int Size { get; init; } = 64;

    /// <summary>A request without an answer after this long counts as unanswered.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws unless the options are sane and the server is on this machine.</summary>
    public void Validate()
    {
        if (Server.Scheme is not ("http" or "https"))
        {
            throw new InvalidRequestException("--soak", $"--soak needs the server's http(s) URL, e.g. http://127.0.0.1:7860 (got '{Server}').");
        }
        if (!IsLoopback(Server.Host))
        {
            throw new InvalidRequestException("--soak", $"--soak only loads servers on this machine (a loopback address such as 127.0.0.1), not {Server.Host}.");
        }
        if (Sessions is < 0 or > 1000) throw new InvalidRequestException("--sessions", "--sessions must be between 0 and 1000.");
        if (Clients is < 0 or > 250) throw new InvalidRequestException("--clients", "--clients must be between 0 and 250.");
        if (Sessions + Clients == 0) throw new InvalidRequestException("--sessions", "Give at least one session or client.");
        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromHours(24)) throw new InvalidRequestException("--duration", "--duration must be between 1 s and 24 h.");
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}

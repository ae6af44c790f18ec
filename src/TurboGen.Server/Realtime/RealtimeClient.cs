using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace TurboGen.Server.Realtime;

/// <summary>One message from the server: a frame (binary) or a JSON text message (hello, error, busy, status).</summary>
public sealed record RealtimeMessage(FrameHeader? Frame, byte[]? Image, JsonElement? Text, DateTimeOffset ReceivedAt)
{
    /// <summary>"frame", "hello", "error", "busy", "status".</summary>
    public string Type => Frame is not null ? "frame" : Text?.GetProperty("type").GetString() ?? "";
}

/// <summary>
/// A .NET client for the real-time WebSocket protocol (<see cref="RealtimeProtocol"/>): used by the benchmark
/// and the tests. Not thread-safe for concurrent sends or concurrent receives.
/// </summary>
public sealed class RealtimeClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;

    private RealtimeClient(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    /// <summary>Connects to <c>/ws</c> of a server given by its http(s) or ws(s) base URL.</summary>
    public static async Task<RealtimeClient> ConnectAsync(Uri server, string? apiKey = null, CancellationToken cancellationToken = default)
    {
        var builder = new UriBuilder(server) { Path = "/ws" };
        builder.Scheme = server.Scheme is "https" or "wss" ? "wss" : "ws";
        var socket = new ClientWebSocket();
        if (apiKey is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + apiKey);
        await socket.ConnectAsync(builder.Uri, cancellationToken).ConfigureAwait(false);
        return new RealtimeClient(socket);
    }

    /// <summary>Sends one request (any object serialised with camelCase names, or a JSON string as is).</summary>
    public Task SendAsync(object request, CancellationToken cancellationToken = default)
    {
        byte[] bytes = request is string s ? Encoding.UTF8.GetBytes(s) : JsonSerializer.SerializeToUtf8Bytes(request, RealtimeProtocol.Json);
        return _socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancellationToken);
    }

    /// <summary>The next message; null when the server closed the socket.</summary>
    public async Task<RealtimeMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            memory.Write(buffer, 0, result.Count);
            if (!result.EndOfMessage) continue;
            var now = DateTimeOffset.UtcNow;
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                var (header, image) = RealtimeProtocol.DecodeFrame(memory.ToArray());
                return new RealtimeMessage(header, image, null, now);
            }
            using var doc = JsonDocument.Parse(memory.ToArray());
            return new RealtimeMessage(null, null, doc.RootElement.Clone(), now);
        }
    }

    /// <summary>Receives until a message matches (others are skipped); throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<RealtimeMessage> WaitForAsync(Func<RealtimeMessage, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var message = await ReceiveAsync(cts.Token).ConfigureAwait(false) ?? throw new WebSocketException("The server closed the socket.");
                if (match(message)) return message;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"No matching real-time message within {timeout.TotalSeconds:F1} s.");
        }
    }

    /// <summary>Drops the connection without a closing handshake (a client that vanished).</summary>
    public void Abort() => _socket.Abort();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        _socket.Dispose();
    }
}

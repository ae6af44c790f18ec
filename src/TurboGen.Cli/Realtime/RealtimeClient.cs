using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Cli.Realtime;

/// <summary>One message from the server: a frame (binary) or a JSON text message (hello, error, busy, status).</summary>
public sealed record RealtimeMessage(FrameHeader? Frame, byte[]? Image, JsonElement? Text, DateTimeOffset ReceivedAt)
{
    /// <summary>"frame", "hello", "error", "busy", "status".</summary>
    public string Type => Frame is not null ? "frame" : Text?.GetProperty("type").GetString() ?? "";
}

/// <summary>
/// A .NET client of the real-time WebSocket protocol, built on the server's own <see cref="WebSocketChannel"/>,
/// <see cref="ClientMessage"/> and <see cref="FrameCodec"/>: used by <c>turbogen bench --realtime</c> and the tests.
/// Sends may come from any thread; one receiver at a time.
/// </summary>
public sealed class RealtimeClient : IAsyncDisposable
{
    /// <summary>Largest server message accepted (a 2048² frame is a few MB).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly WebSocketChannel _channel;

    private RealtimeClient(ClientWebSocket socket)
    {
        _socket = socket;
        _channel = new WebSocketChannel(socket, MaxMessageBytes);
    }

    public WebSocketState State => _channel.State;

    /// <summary>
    /// Connects to <c>/ws</c> of a server given by its http(s) or ws(s) base URL. <paramref name="clientId"/> names the
    /// history the session's kept images go to (<c>X-TurboGen-Client</c>); none: the shared folder.
    /// </summary>
    public static async Task<RealtimeClient> ConnectAsync(Uri server, string? apiKey = null, CancellationToken cancellationToken = default, string? clientId = null)
    {
        var builder = new UriBuilder(server) { Path = "/ws" };
        builder.Scheme = server.Scheme is "https" or "wss" ? "wss" : "ws";
        var socket = new ClientWebSocket();
        if (apiKey is not null) socket.Options.SetRequestHeader("Authorization", "Bearer " + apiKey);
        if (clientId is not null) socket.Options.SetRequestHeader(Server.Policy.HistoryOwner.HeaderName, clientId);
        try
        {
            await socket.ConnectAsync(builder.Uri, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RealtimeClient(socket);
    }

    /// <summary>Sends one request.</summary>
    public Task SendAsync(ClientMessage request, CancellationToken cancellationToken = default) =>
        _channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(request, RealtimeJson.Default.ClientMessage), WebSocketMessageType.Text, cancellationToken);

    /// <summary>Sends a text message as is (any JSON, valid or not: the tests probe the server with it).</summary>
    public Task SendTextAsync(string text, CancellationToken cancellationToken = default) =>
        _channel.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, cancellationToken);

    /// <summary>The next message; null when the server closed the socket.</summary>
    public async Task<RealtimeMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var message = await _channel.ReceiveAsync(cancellationToken).ConfigureAwait(false);
        if (message.IsClose) return null;
        if (message.TooLarge) throw new InvalidDataException($"The server sent a message larger than {MaxMessageBytes} bytes.");
        var now = DateTimeOffset.UtcNow;
        if (message.Type == WebSocketMessageType.Binary)
        {
            var (header, image) = FrameCodec.Decode(message.Data.Span);
            return new RealtimeMessage(header, image, null, now);
        }
        var reader = new Utf8JsonReader(message.Data.Span);
        using var doc = JsonDocument.ParseValue(ref reader);
        return new RealtimeMessage(null, null, doc.RootElement.Clone(), now);
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
    public void Abort() => _channel.Abort();

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync("bye").ConfigureAwait(false);
        _channel.Dispose();
        _socket.Dispose();
    }
}

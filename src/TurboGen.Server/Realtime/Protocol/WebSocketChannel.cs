using System.Buffers;
using System.Net.WebSockets;

namespace TurboGen.Server.Realtime.Protocol;

/// <summary>One whole message received from a <see cref="WebSocketChannel"/>.</summary>
/// <param name="Data">The message bytes; valid until the next receive.</param>
/// <param name="TooLarge">The message exceeded the channel's limit: it was read and dropped, <paramref name="Data"/> is empty.</param>
public readonly record struct ChannelMessage(WebSocketMessageType Type, ReadOnlyMemory<byte> Data, bool TooLarge)
{
    public bool IsClose => Type == WebSocketMessageType.Close;
}

/// <summary>
/// A WebSocket as a channel of whole messages, used by both ends of the real-time protocol (the server's session and
/// the .NET client of <c>turbogen bench --realtime</c>): receives assemble fragments into one pooled, growing buffer up to
/// <see cref="MaxMessageBytes"/> (a larger message is drained and reported as <see cref="ChannelMessage.TooLarge"/>, the
/// socket stays usable); sends are serialised by a lock so concurrent senders never interleave frames. One receiver at a
/// time; any number of senders.
/// </summary>
public sealed class WebSocketChannel(WebSocket socket, int maxMessageBytes) : IDisposable
{
    private const int InitialBuffer = 64 * 1024;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(InitialBuffer, maxMessageBytes));

    public int MaxMessageBytes { get; } = maxMessageBytes;

    public WebSocketState State => socket.State;

    /// <summary>Receives the next whole message (or the close).</summary>
    public async Task<ChannelMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        int length = 0;
        bool tooLarge = false;
        while (true)
        {
            if (length == _buffer.Length && !tooLarge)
            {
                if (length >= MaxMessageBytes)
                {
                    tooLarge = true;
                }
                else
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, MaxMessageBytes));
                    _buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = bigger;
                }
            }
            var segment = tooLarge ? _buffer.AsMemory() : _buffer.AsMemory(length);
            var result = await socket.ReceiveAsync(segment, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return new ChannelMessage(WebSocketMessageType.Close, default, false);
            if (!tooLarge)
            {
                length += result.Count;
                tooLarge = length > MaxMessageBytes;
            }
            if (result.EndOfMessage)
            {
                return new ChannelMessage(result.MessageType, tooLarge ? default : _buffer.AsMemory(0, length), tooLarge);
            }
        }
    }

    /// <summary>Sends one whole message; does nothing once the socket is no longer open.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        if (socket.State != WebSocketState.Open) return;
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(message, type, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Closes politely (bounded wait); a socket that is already gone is left alone.</summary>
    public async Task CloseAsync(string reason)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, reason, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Already gone.
        }
    }

    /// <summary>Drops the connection without a closing handshake.</summary>
    public void Abort() => socket.Abort();

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        _sendLock.Dispose();
    }
}

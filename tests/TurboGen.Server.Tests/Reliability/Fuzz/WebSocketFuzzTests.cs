using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using CsCheck;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;
using Xunit.Abstractions;

namespace TurboGen.Server.Tests.Reliability.Fuzz;

/// <summary>
/// Property-based fuzzing of the real-time WebSocket (CsCheck): messages generated from the protocol's own contract type
/// (<see cref="ClientMessage"/>, by reflection) with hostile values, and frames of every kind — binary, fragmented,
/// invalid UTF-8, not JSON, unknown types, non-increasing or unreadable request ids, and one oversized message. The
/// property: every message is answered (its frame, or an <c>error</c>/<c>busy</c> message), a protocol violation closes
/// the socket with the right status (1007 for invalid UTF-8), the server never crashes and logs no error.
/// </summary>
public sealed class WebSocketFuzzTests(FuzzServerFixture fixture, ITestOutputHelper output) : IClassFixture<FuzzServerFixture>
{
    private enum Shape { Object, Fragmented, Binary, NotAnObject, InvalidUtf8 }

    private sealed record Message(Shape Shape, string Json, string RequestId, int Fragments);

    [Fact]
    public async Task GeneratedMessages_AreEachAnswered_AndViolationsCloseTheSocketProperly()
    {
        var properties = typeof(ClientMessage).GetProperties()
            .Select(p => (Name: JsonNamingPolicy.CamelCase.ConvertName(p.Name), Type: TypeOf(p.PropertyType)))
            .Where(p => p.Name != "requestId").ToList();
        Assert.True(properties.Count >= 12);
        var valid = JsonFuzz.Object(properties.Where(p => JsonFuzz.ValidValueFor(p.Name) is not null).Select(p => (p.Name, JsonFuzz.ValidValueFor(p.Name)!)).ToList());
        var mixed = JsonFuzz.Object(properties.Select(p => (p.Name, JsonFuzz.ValueFor(p.Name, p.Type, null, null))).ToList());
        var requestId = Gen.Frequency((12, Gen.Const("next")), (1, Gen.OneOf("", "\"abc\"", "-5", "1.5", "1e30", "null", "same", "[]")));
        var messages = Gen.Frequency(
            (12, Gen.Select(Gen.Frequency((2, valid), (1, mixed)), requestId, (json, id) => new Message(Shape.Object, json, id, 1))),
            (2, Gen.Select(valid, Gen.Int[2, 5], (json, n) => new Message(Shape.Fragmented, json, "next", n))),
            (1, valid.Select(json => new Message(Shape.Binary, json, "next", 1))),
            (1, Gen.Frequency((3, Gen.OneOf("", "[1,2]", "\"generate\"", "42", "null", "{", "{\"requestId\":", "}{")), (1, JsonFuzz.Deep))
                .Select(text => new Message(Shape.NotAnObject, text, "", 1))),
            (1, valid.Select(json => new Message(Shape.InvalidUtf8, json, "next", 1))));

        int iterations = FuzzServerFixture.WebSocketMessages;
        var outcomes = new Dictionary<string, int>();
        await using var session = await Session.OpenAsync(fixture.Server);
        await OversizedAsync(session);
        outcomes["oversized → error"] = 1;
        var s = session;
        // One socket, one message at a time (each waits for its answer), so the sample runs on one thread.
        await messages.SampleAsync(async message =>
        {
            if (s.Closed || s.Socket.State != WebSocketState.Open)
            {
                await s.DisposeAsync();
                s = await Session.OpenAsync(fixture.Server);
            }
            string outcome = await SendAndCheckAsync(s, message);
            lock (outcomes) outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            if (s.Closed)
            {
                await s.DisposeAsync();
                s = await Session.OpenAsync(fixture.Server);
            }
        }, iter: iterations, threads: 1, print: m => $"{m.Shape} id={m.RequestId} fragments={m.Fragments}: {ErrorShapes.Cut(m.Json)}");
        await s.DisposeAsync();

        output.WriteLine($"{iterations} messages: {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} ×{o.Value}"))}");
        Assert.True(outcomes.Keys.Any(k => k.StartsWith("frame", StringComparison.Ordinal)), "no generated message was valid: the fuzz never reached the model");
        await RealtimeTestKit.EventuallyAsync(() => fixture.Server.Sessions().Count == 0, "every fuzz session closed");
        Assert.True(fixture.Logs.Errors.Count == 0, string.Join("\n", fixture.Logs.Errors.Take(5)));
    }

    private static async Task OversizedAsync(Session session)
    {
        var chunk = new byte[1024 * 1024];
        Array.Fill(chunk, (byte)' ');
        for (int i = 0; i * chunk.Length <= RequestLimits.MaxMessageBytes; i++)
        {
            await session.Socket.SendAsync(chunk, WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        }
        await session.Socket.SendAsync("{}"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var answer = await session.NextAsync(_ => true);
        Assert.Equal("error", answer.Type);
        Assert.Equal("message", answer.Field);
    }

    private static async Task<string> SendAndCheckAsync(Session session, Message message)
    {
        long id = ++session.LastId;
        string idJson = message.RequestId switch { "next" => id.ToString(System.Globalization.CultureInfo.InvariantCulture), "same" => (id - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), var x => x };
        string json = message.Shape == Shape.NotAnObject || idJson.Length == 0 ? message.Json
            : "{\"requestId\":" + idJson + (message.Json.Length > 2 ? "," : "") + message.Json[1..];
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        switch (message.Shape)
        {
            case Shape.Binary:
                await session.Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);
                break;
            case Shape.InvalidUtf8:
                await session.Socket.SendAsync(bytes.Take(bytes.Length / 2).Append((byte)0xff).Concat(bytes.Skip(bytes.Length / 2)).ToArray(),
                    WebSocketMessageType.Text, true, CancellationToken.None);
                // The server closes with 1007; when a frame for an earlier message was being sent at that moment, the send
                // is cancelled and the connection aborted instead (the close frame may then be lost with it).
                var closed = await session.NextAsync(a => a.Type == "close");
                Assert.True(closed.CloseStatus is WebSocketCloseStatus.InvalidPayloadData or null, $"closed with {closed.CloseStatus}");
                return closed.CloseStatus is null ? "invalid UTF-8 → aborted" : "invalid UTF-8 → closed 1007";
            case Shape.Fragmented:
                int size = Math.Max(1, bytes.Length / message.Fragments);
                for (int offset = 0; offset < bytes.Length; offset += size)
                {
                    int n = Math.Min(size, bytes.Length - offset);
                    await session.Socket.SendAsync(bytes.AsMemory(offset, n), WebSocketMessageType.Text, offset + n >= bytes.Length, CancellationToken.None);
                }
                break;
            default:
                await session.Socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
                break;
        }
        // The answer to this message: its frame or busy (by request id), or an error naming it or no readable id.
        long? expected = long.TryParse(idJson, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long e) ? e : null;
        var answer = await session.NextAsync(a => a.Type == "close" || (expected is not null && a.RequestId == expected)
            || (a.Type == "error" && (a.RequestId is null || expected is null)));
        Assert.True(answer.Type != "close", $"the server closed the socket ({answer.CloseStatus}) on: {ErrorShapes.Cut(json)}");
        if (answer.Type == "error")
        {
            Assert.False(string.IsNullOrWhiteSpace(answer.Message), "an error without a message");
            return $"error ({answer.Field ?? "no field"})";
        }
        return answer.Type == "frame" ? $"frame ({answer.Kind})" : answer.Type;
    }

    private static string? TypeOf(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(string) => "string",
        var t when t == typeof(bool) => "boolean",
        var t when t == typeof(double) || t == typeof(float) => "number",
        var t when t == typeof(int) || t == typeof(long) => "integer",
        _ => null,
    };

    /// <summary>What came back: a frame, a text message, or the close.</summary>
    private sealed record Answer(string Type, long? RequestId, string? Field, string? Message, string? Kind, WebSocketCloseStatus? CloseStatus);

    /// <summary>A raw WebSocket to the server (frames of any shape can be sent), its answers read into a channel.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly System.Threading.Channels.Channel<Answer> _answers = System.Threading.Channels.Channel.CreateUnbounded<Answer>();
        private readonly Task _reader;

        private Session(ClientWebSocket socket)
        {
            Socket = socket;
            _reader = Task.Run(ReadAsync);
        }

        public ClientWebSocket Socket { get; }
        public long LastId { get; set; }
        public bool Closed { get; private set; }

        public static async Task<Session> OpenAsync(TestServer server)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(new Uri(server.BaseAddress, "/ws").ToString().Replace("http", "ws", StringComparison.Ordinal)), CancellationToken.None);
            var session = new Session(socket);
            await session.NextAsync(a => a.Type == "hello");
            return session;
        }

        public async Task<Answer> NextAsync(Func<Answer, bool> match)
        {
            using var timeout = new CancellationTokenSource(RealtimeTestKit.Timeout);
            while (true)
            {
                var answer = await _answers.Reader.ReadAsync(timeout.Token);
                if (answer.Type == "close") Closed = true;
                if (match(answer)) return answer;
            }
        }

        private async Task ReadAsync()
        {
            var buffer = new byte[64 * 1024 * 1024];
            try
            {
                while (true)
                {
                    int length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await Socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        _answers.Writer.TryWrite(new Answer("close", null, null, null, null, Socket.CloseStatus));
                        return;
                    }
                    if (result.MessageType == WebSocketMessageType.Binary)
                    {
                        var (header, _) = FrameCodec.Decode(buffer.AsSpan(0, length));
                        _answers.Writer.TryWrite(new Answer("frame", header.RequestId, null, null, header.Kind, null));
                        continue;
                    }
                    using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
                    var root = doc.RootElement;
                    _answers.Writer.TryWrite(new Answer(root.GetProperty("type").GetString()!,
                        root.TryGetProperty("requestId", out var rid) && rid.ValueKind == JsonValueKind.Number ? rid.GetInt64() : null,
                        root.TryGetProperty("field", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null,
                        root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null, null, null));
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                _answers.Writer.TryWrite(new Answer("close", null, null, null, null, Socket.CloseStatus));
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Socket.State == WebSocketState.Open)
            {
                try { await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None); } catch (WebSocketException) { }
            }
            Socket.Dispose();
            try { await _reader; } catch (Exception) { }
        }
    }
}

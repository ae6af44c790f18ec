using System.Net;
using System.Net.WebSockets;
using TurboGen.Server.Policy;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// The real-time WebSocket protocol's guards: oversized and malformed messages answer an error naming the field and keep the socket
/// open, request ids must increase, and the web app is served while foreign origins cannot open a session.
/// </summary>
public sealed class RealtimeProtocolTests
{
    [Fact]
    public async Task OversizedMessage_IsRefused_AndTheSocketStaysOpen()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.SendTextAsync("{\"requestId\":1,\"prompt\":\"" + new string('a', RequestLimits.MaxMessageBytes) + "\"}");
        var error = await client.NextTextAsync("error");
        Assert.Equal("message", error.Text!.Value.GetProperty("field").GetString());
        await client.SendAsync(Generate(2, "fits"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
    }

    private static readonly (string Message, string Field)[] BadMessages =
    [
        ("{not json", "json"),
        ("[1,2]", "json"),
        ("{\"prompt\":\"no id\"}", "requestId"),
        ("{\"requestId\":5,\"steps\":9}", "steps"),
        ("{\"requestId\":5,\"steps\":\"two\"}", "steps"),
        ("{\"requestId\":5,\"width\":65}", "width"),
        ("{\"requestId\":5,\"height\":4096}", "height"),
        ("{\"requestId\":5,\"seed\":-3}", "seed"),
        ("{\"requestId\":5,\"style\":\"no such style\"}", "style"),
        ("{\"requestId\":5,\"prompt\":42}", "prompt"),
        ("{\"requestId\":5,\"image\":\"aGVsbG8gd29ybGQ=\",\"strength\":0.5}", "image"),
        ("{\"requestId\":5,\"image\":\"%%%not base64\"}", "image"),
        ("{\"requestId\":5,\"image\":\"data:text/plain,hello\"}", "image"),
        ("{\"requestId\":5,\"type\":\"dance\"}", "type"),
        ("{\"requestId\":5,\"type\":\"variants\",\"count\":50}", "count"),
        ("{\"requestId\":5,\"live\":\"yes\"}", "live"),
        ("{\"type\":\"generate\",\"requestId\":\"abc\"}", "requestId"), // issue 14.3: used to close the socket
        ("{\"requestId\":5,\"prompt\":\"a\\u0000b\"}", "prompt"), // issue 14.2
        ("{\"requestId\":5,\"negative\":\"\\u001b[31m\"}", "negative"),
    ];

    [Fact]
    public async Task BadMessages_AnswerAnErrorNamingTheField_AndTheSocketStaysOpen()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        foreach (var (message, field) in BadMessages)
        {
            await client.SendTextAsync(message);
            var error = await client.NextTextAsync("error");
            Assert.True(field == error.Text!.Value.GetProperty("field").GetString(), $"{message} → {error.Text}");
            Assert.False(string.IsNullOrWhiteSpace(error.Text!.Value.GetProperty("message").GetString()));
            Assert.Equal(WebSocketState.Open, client.State);
        }
        await client.SendAsync(Generate(6, "still works"));
        Assert.Equal(6, (await client.NextFrameAsync()).Frame!.RequestId);
    }

    [Fact]
    public async Task RequestIdsMustIncrease()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(5, "first"));
        await client.NextFrameAsync();
        await client.SendAsync(Generate(4, "older"));
        var error = await client.NextTextAsync("error");
        Assert.Equal("requestId", error.Text!.Value.GetProperty("field").GetString());
    }

    [Fact]
    public async Task WebApp_IsServedFromEmbeddedFiles_AndForeignOriginsCannotOpenASession()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var page = await server.Http.GetAsync("/");
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType!.ToString());
        Assert.Contains("TurboGen", await page.Content.ReadAsStringAsync());
        var js = await server.Http.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, js.StatusCode);
        Assert.StartsWith("text/javascript", js.Content.Headers.ContentType!.ToString());
        var again = new HttpRequestMessage(HttpMethod.Get, "/app.js");
        again.Headers.TryAddWithoutValidation("If-None-Match", js.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NotModified, (await server.Http.SendAsync(again)).StatusCode);

        using var foreign = new ClientWebSocket();
        foreign.Options.SetRequestHeader("Origin", "http://evil.example");
        var ws = new UriBuilder(server.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(ws, CancellationToken.None));
        using var same = new ClientWebSocket();
        same.Options.SetRequestHeader("Origin", $"http://{server.BaseAddress.Authority}");
        await same.ConnectAsync(ws, CancellationToken.None);
        Assert.Equal(WebSocketState.Open, same.State);
    }
}

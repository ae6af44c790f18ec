using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using TurboGen.Cli.Realtime;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>Kept images per client (issue 15.5): explicit keep, privacy, delete / clear / favourite, retention.</summary>
public sealed class HistoryTests
{
    private const string Alice = "alice-0123456789abcdef", Bob = "bob-0123456789abcdef01";
    private static readonly Func<ServerOptions, ServerOptions> NoAutoRefine = o => o with { RefineDelay = TimeSpan.FromHours(1) };

    private static async Task<string> KeepAsync(TestServer server, string? client, string prompt, long seed = 7)
    {
        await using var ws = await RealtimeClient.ConnectAsync(server.BaseAddress, clientId: client);
        await ws.SendAsync(Generate(1, prompt, seed) with { Keep = true });
        return (await ws.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File!;
    }

    private static HttpRequestMessage As(string? client, HttpMethod method, string path, bool cookie = false)
    {
        var request = new HttpRequestMessage(method, path);
        if (client is not null) request.Headers.TryAddWithoutValidation(cookie ? "Cookie" : HistoryOwner.HeaderName, cookie ? $"{HistoryOwner.CookieName}={client}" : client);
        return request;
    }

    private static async Task<string[]> ListAsync(TestServer server, string? client, bool cookie = false)
    {
        var response = await server.Http.SendAsync(As(client, HttpMethod.Get, "/api/history", cookie));
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(e => e.GetProperty("file").GetString()!).ToArray();
    }

    [Fact]
    public async Task EachClientSeesOnlyItsOwnKeptImages_ByHeaderOrCookie()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        string alices = await KeepAsync(server, Alice, "alice's fox");
        string bobs = await KeepAsync(server, Bob, "bob's boat");
        string shared = await KeepAsync(server, null, "a script's image");

        Assert.Equal([alices], await ListAsync(server, Alice));
        Assert.Equal([alices], await ListAsync(server, Alice, cookie: true));
        Assert.Equal([bobs], await ListAsync(server, Bob));
        Assert.Equal([shared], await ListAsync(server, null));

        // Another client's file is not there for you: not served, not deletable, not favourable.
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(As(Alice, HttpMethod.Get, "/api/history/" + alices, cookie: true))).StatusCode);
        foreach (var (method, path) in new[] { (HttpMethod.Get, ""), (HttpMethod.Delete, ""), (HttpMethod.Put, "/favourite") })
        {
            var response = await server.Http.SendAsync(As(Bob, method, $"/api/history/{alices}{path}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("file", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/api/history/" + alices)).StatusCode);
        Assert.Equal([alices], await ListAsync(server, Alice));

        // On disk: one folder per client, named by a hash (the id itself is not written anywhere).
        var folders = Directory.GetDirectories(server.Options.OutputDir).Select(Path.GetFileName).ToArray();
        Assert.Equal(2, folders.Length);
        Assert.All(folders, f => Assert.True(HistoryOwner.IsOwnerFolder(f!), f));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(server.Options.OutputDir, "*", SearchOption.AllDirectories), p => p.Contains("alice", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("has spaces in the id....")]
    [InlineData("../../../../etc/passwd-xx")]
    public async Task ABadClientId_IsRefusedNamingClient(string id)
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var response = await server.Http.SendAsync(As(id, HttpMethod.Get, "/api/history"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("client", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
        await Assert.ThrowsAsync<WebSocketException>(() => RealtimeClient.ConnectAsync(server.BaseAddress, clientId: id));
    }

    [Fact]
    public async Task KeepIsExplicit_DeleteClearAndFavourite()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromMilliseconds(30) });
        await using (var ws = await RealtimeClient.ConnectAsync(server.BaseAddress, clientId: Alice))
        {
            // Typing and pausing refines the picture but keeps nothing.
            await ws.SendAsync(Generate(1, "a paused fox"));
            Assert.Null((await ws.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File);
            Assert.Empty(await ListAsync(server, Alice));
            // Keeping the same picture twice saves it once.
            await ws.SendAsync(Generate(2, "a paused fox") with { Keep = true });
            string first = (await ws.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File!;
            await ws.SendAsync(Generate(3, "a paused fox") with { Keep = true });
            Assert.Equal(first, (await ws.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File);
        }
        string a = (await ListAsync(server, Alice)).Single();
        string b = await KeepAsync(server, Alice, "a second picture");
        string c = await KeepAsync(server, Alice, "a third picture");

        var favourite = await server.Http.SendAsync(As(Alice, HttpMethod.Put, $"/api/history/{a}/favourite"));
        Assert.True((await favourite.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("favourite").GetBoolean());
        var listed = (await server.Http.SendAsync(As(Alice, HttpMethod.Get, "/api/history"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal([false, false, true], (await listed).EnumerateArray().Select(e => e.GetProperty("favourite").GetBoolean()));

        Assert.Equal(HttpStatusCode.NoContent, (await server.Http.SendAsync(As(Alice, HttpMethod.Delete, "/api/history/" + c))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.SendAsync(As(Alice, HttpMethod.Delete, "/api/history/" + c))).StatusCode);
        Assert.Equal([b, a], await ListAsync(server, Alice));

        // Clear keeps favourites unless asked.
        var cleared = await server.Http.SendAsync(As(Alice, HttpMethod.Delete, "/api/history"));
        Assert.Equal(1, (await cleared.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetInt32());
        Assert.Equal([a], await ListAsync(server, Alice));
        var unfavourite = await server.Http.SendAsync(As(Alice, HttpMethod.Delete, $"/api/history/{a}/favourite"));
        Assert.False((await unfavourite.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("favourite").GetBoolean());
        await server.Http.SendAsync(As(Alice, HttpMethod.Put, $"/api/history/{a}/favourite"));
        cleared = await server.Http.SendAsync(As(Alice, HttpMethod.Delete, "/api/history?favourites=true"));
        Assert.Equal(1, (await cleared.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetInt32());
        Assert.Empty(await ListAsync(server, Alice));
    }

    [Fact]
    public async Task Retention_CutsEachHistoryToItsLimit_OldestFirst_FavouritesLast()
    {
        await using var server = await TestServer.StartAsync(configure: o => NoAutoRefine(o) with { History = new HistoryRetention { MaxImagesPerHistory = 2 } });
        string a = await KeepAsync(server, Alice, "first");
        await server.Http.SendAsync(As(Alice, HttpMethod.Put, $"/api/history/{a}/favourite"));
        string b = await KeepAsync(server, Alice, "second");
        string bobs = await KeepAsync(server, Bob, "bob's");
        string c = await KeepAsync(server, Alice, "third");
        // b is the oldest non-favourite; Bob's history is his own.
        Assert.Equal([c, a], await ListAsync(server, Alice));
        Assert.Equal([bobs], await ListAsync(server, Bob));
        Assert.NotEqual(b, c);
    }

    [Fact]
    public async Task Retention_TotalBytes_CutsAcrossHistories()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        string a = await KeepAsync(server, Alice, "first");
        long oneImage = new FileInfo(Directory.GetFiles(server.Options.OutputDir, a, SearchOption.AllDirectories).Single()).Length;
        await using var capped = await TestServer.StartAsync(configure: o => NoAutoRefine(o) with
        {
            OutputDir = server.Options.OutputDir, History = new HistoryRetention { MaxBytesTotal = 2 * oneImage + oneImage / 2 },
        });
        string bobs = await KeepAsync(capped, Bob, "second");
        string c = await KeepAsync(capped, Alice, "third");
        Assert.Equal([c], await ListAsync(capped, Alice));
        Assert.Equal([bobs], await ListAsync(capped, Bob));
    }

    [Fact]
    public void Evictions_AreTheOldestNonFavouritesFirst_ThenFavourites()
    {
        static KeptFile F(string name, long bytes, bool favourite = false) => new(name, name, bytes, favourite);
        var files = new[] { F("3.png", 10), F("1.png", 10, favourite: true), F("2.png", 10), F("4.png", 10) };
        Assert.Empty(HistoryRetention.Evictions(files, 4, 40));
        Assert.Equal(["2.png"], HistoryRetention.Evictions(files, 3, 0).Select(f => f.Name));
        Assert.Equal(["2.png", "3.png"], HistoryRetention.Evictions(files, 0, 25).Select(f => f.Name));
        Assert.Equal(["2.png", "3.png", "4.png", "1.png"], HistoryRetention.Evictions(files, 0, 5).Select(f => f.Name));
        Assert.Empty(HistoryRetention.Evictions(files, 0, 0));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using TurboGen.Cli.Realtime;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// The rules that used to differ between front ends (issue 12): each test drives several front ends — the WebSocket,
/// OpenAI, A1111 and native APIs — with the same input and shows they now agree. (The CLI's <c>--style</c> is checked
/// against the same expected prompt in the CLI tests.)
/// </summary>
public sealed class FrontEndAgreementTests
{
    /// <summary>
    /// "neon-punk" from Policy/styles.json combined by A1111's rule (modules/styles.py merge_prompts): the placeholder
    /// takes the prompt; a template without one is appended after the user's text, so the style's negative comes last.
    /// </summary>
    public const string StyledPrompt = "neon punk style a tram, cyberpunk city glow, vivid magenta and cyan neon lights, high contrast, futuristic";
    public const string StyledNegative = "dogs, daylight, muted colors, dull, pastoral, painting, blurry, low contrast";

    private static GenerationRecord Record(byte[] png) => GenerationMetadata.ParseJson(PngText.ReadTextChunks(png)[PngText.TurboGenKey])!;

    [Fact]
    public async Task SameStyle_GivesTheSamePrompt_OverWebSocketOpenAiA1111AndNative()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        var prompts = new Dictionary<string, (string Prompt, string Negative)>();

        await using (var client = await server.ConnectAsync())
        {
            await client.SendAsync(Generate(1, "a tram", style: "neon-punk") with { Negative = "dogs", Guidance = 2, Keep = true });
            var refined = await client.NextFrameAsync(f => f.Kind == FrameKinds.Refined);
            var record = Record(await File.ReadAllBytesAsync(Path.Combine(server.Options.OutputDir, refined.Frame!.File!)));
            prompts["websocket"] = (record.Prompt, record.NegativePrompt);
        }

        var (status, openAi, _) = await PostJsonAsync(server.Http, "/v1/images/generations",
            """{"prompt": "a tram", "negative_prompt": "dogs", "style": "neon-punk", "size": "64x64", "response_format": "b64_json"}""");
        Assert.Equal(200, status);
        var openAiRecord = Record(Convert.FromBase64String(openAi.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        Assert.Equal(openAiRecord.Prompt, openAi.GetProperty("data")[0].GetProperty("revised_prompt").GetString());
        // The OpenAI API has no guidance field, so its negative prompt is never used, and the metadata says so.
        Assert.Equal((StyledPrompt, "", 1f), (openAiRecord.Prompt, openAiRecord.NegativePrompt, openAiRecord.GuidanceScale));

        (status, var a1111, _) = await PostJsonAsync(server.Http, "/sdapi/v1/txt2img",
            """{"prompt": "a tram", "negative_prompt": "dogs", "styles": ["neon-punk"], "cfg_scale": 2, "width": 64, "height": 64}""");
        Assert.Equal(200, status);
        var info = JsonDocument.Parse(a1111.GetProperty("info").GetString()!).RootElement;
        prompts["a1111"] = (info.GetProperty("all_prompts")[0].GetString()!, info.GetProperty("all_negative_prompts")[0].GetString()!);
        var a1111Record = Record(Convert.FromBase64String(a1111.GetProperty("images")[0].GetString()!));
        Assert.Equal(prompts["a1111"], (a1111Record.Prompt, a1111Record.NegativePrompt));

        (status, var native, _) = await PostJsonAsync(server.Http, "/api/generate",
            """{"prompt": "a tram", "negative_prompt": "dogs", "style": "neon-punk", "guidance_scale": 2, "width": 64, "height": 64}""");
        Assert.Equal(200, status);
        prompts["native"] = (native.GetProperty("prompt").GetString()!, native.GetProperty("negative_prompt").GetString()!);

        Assert.All(prompts, p => Assert.Equal((StyledPrompt, StyledNegative), p.Value));
    }

    public static TheoryData<string, string> BadPrompts => new()
    {
        { "a\u0000b", "control character U+0000" },   // issue 14.2: was a 500 on every HTTP API, an endless refine loop on the WebSocket
        { "bell\u0007", "control character U+0007" },
        { new string('a', RequestLimits.MaxPromptChars + 1), $"at most {RequestLimits.MaxPromptChars}" },
    };

    [Theory]
    [MemberData(nameof(BadPrompts))]
    public async Task SamePromptRule_OnEveryFrontEnd_RefusesNamingPrompt(string prompt, string expect)
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromMilliseconds(20) });
        string json = JsonSerializer.Serialize(new { prompt, size = "64x64", width = 64, height = 64 });

        var (status, openAi, _) = await PostJsonAsync(server.Http, "/v1/images/generations", json);
        Assert.Equal((400, "prompt"), (status, openAi.GetProperty("error").GetProperty("param").GetString()));
        Assert.Contains(expect, openAi.GetProperty("error").GetProperty("message").GetString());
        (status, var native, _) = await PostJsonAsync(server.Http, "/api/generate", json);
        Assert.Equal((400, "prompt"), (status, native.GetProperty("error").GetProperty("param").GetString()));
        (status, var a1111, _) = await PostJsonAsync(server.Http, "/sdapi/v1/txt2img", json);
        Assert.Equal((422, "prompt"), (status, a1111.GetProperty("detail")[0].GetProperty("loc")[1].GetString()));

        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, prompt));
        var error = await client.NextTextAsync("error");
        Assert.Equal(("prompt", 1L), (error.Text!.Value.GetProperty("field").GetString(), error.Text!.Value.GetProperty("requestId").GetInt64()));
        Assert.Contains(expect, error.Text!.Value.GetProperty("message").GetString());
        // Nothing ran, nothing is retried, and the session goes on.
        await client.SendAsync(Generate(2, "a tab\tand a newline\n are fine"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
    }

    [Fact]
    public async Task SameLimits_PromptLengthSidesAndInputImages_OnWebSocketAndHttp()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        await using var client = await server.ConnectAsync();

        // A prompt of the maximum length is accepted everywhere (the WebSocket used to stop at 4,000 characters).
        string longest = string.Concat(Enumerable.Repeat("a cat ", RequestLimits.MaxPromptChars / 6)).PadRight(RequestLimits.MaxPromptChars, 'x');
        await client.SendAsync(Generate(1, longest));
        Assert.Equal(1, (await client.NextFrameAsync()).Frame!.RequestId);
        var (status, _, _) = await PostJsonAsync(server.Http, "/api/generate", JsonSerializer.Serialize(new { prompt = longest, width = 64, height = 64 }));
        Assert.Equal(200, status);

        // The same side rule.
        await client.SendTextAsync("""{"requestId": 2, "width": 2056}""");
        var ws = (await client.NextTextAsync("error")).Text!.Value;
        (status, var native, _) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt": "x", "width": 2056, "height": 64}""");
        Assert.Equal((400, "width"), (status, native.GetProperty("error").GetProperty("param").GetString()));
        Assert.Equal("width", ws.GetProperty("field").GetString());
        Assert.Equal(native.GetProperty("error").GetProperty("message").GetString(), ws.GetProperty("message").GetString());

        // The same input-image decoder and limits: a header claiming 60000² pixels is refused before decoding.
        string huge = Convert.ToBase64String(HugePngHeader(60000, 60000));
        await client.SendTextAsync(JsonSerializer.Serialize(new { requestId = 3, prompt = "x", width = 64, height = 64, image = huge }));
        ws = (await client.NextTextAsync("error")).Text!.Value;
        (status, native, _) = await PostJsonAsync(server.Http, "/api/generate", JsonSerializer.Serialize(new { prompt = "x", width = 64, height = 64, init_image = huge }));
        Assert.Equal((400, "init_image"), (status, native.GetProperty("error").GetProperty("param").GetString()));
        Assert.Equal("image", ws.GetProperty("field").GetString());
        Assert.Contains($"at most {RequestLimits.MaxInputPixels} pixels", ws.GetProperty("message").GetString());
        Assert.Contains($"at most {RequestLimits.MaxInputPixels} pixels", native.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task SameFileNaming_InUtc_ForKeptImagesOfTheWebSocketA1111AndNativeApis()
    {
        // A fixed clock far from any real time: the names can only carry it if every front end names files by it.
        var clock = new FakeTimeProvider(new DateTimeOffset(2031, 5, 6, 7, 8, 9, 123, TimeSpan.Zero));
        clock.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("UTC+14", TimeSpan.FromHours(14), "UTC+14", "UTC+14"));
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) }, clock: clock);
        var names = new Dictionary<string, string>();

        await using (var client = await server.ConnectAsync())
        {
            await client.SendAsync(Generate(1, "a kept fox", seed: 5) with { Keep = true });
            names["websocket"] = (await client.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File!;
        }
        var (_, native, _) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt": "a kept fox", "seed": 5, "width": 64, "height": 64, "save": true}""");
        names["native"] = native.GetProperty("images")[0].GetProperty("saved_as").GetString()!;
        var (_, a1111, _) = await PostJsonAsync(server.Http, "/sdapi/v1/txt2img", """{"prompt": "a kept fox", "seed": 5, "width": 64, "height": 64, "save_images": true}""");
        Assert.Equal(1, a1111.GetProperty("images").GetArrayLength());
        names["a1111"] = Path.GetFileName(Directory.GetFiles(server.Options.OutputDir, "*.png").Except(names.Values.Select(n => Path.Combine(server.Options.OutputDir, n))).Single());
        // (The WebSocket client sent no client id: its kept image is in the shared folder with the HTTP APIs' saves.)

        Assert.All(names, n =>
        {
            Assert.Matches(OutputWriter.FileNamePattern, n.Value);
            Assert.StartsWith("20310506-070809-123Z-5-", n.Value);
        });
        Assert.Equal(3, names.Values.Distinct().Count());
        // Every kept file is listed by the history endpoint, whichever front end wrote it.
        var (_, history) = await GetJsonAsync(server.Http, "/api/history");
        Assert.Equal(names.Values.Order(), history.EnumerateArray().Select(e => e.GetProperty("file").GetString()!).Order());
    }

    private const string Key = "k3y-Agreement";

    /// <summary>One endpoint of each kind; every endpoint but /health, the web app's files and OpenAI image URLs needs the key.</summary>
    private static readonly string[] GuardedPaths = ["/v1/models", "/sdapi/v1/sd-models", "/api/info", "/api/styles", "/api/history", "/metrics", "/openapi/v1.json"];

    [Fact]
    public async Task SameAuth_EveryEndpointAndTheWebSocket_AcceptTheSameForms_AndQueryKeysOnlyWhereBrowsersNeedThem()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { ApiKey = Key, RefineDelay = TimeSpan.FromHours(1) });
        string basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("webui:" + Key));
        var forms = new (string Header, string Value)[] { ("Authorization", "Bearer " + Key), ("X-Api-Key", Key), ("Authorization", basic) };

        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/")).StatusCode);
        foreach (string path in GuardedPaths)
        {
            Assert.True(HttpStatusCode.Unauthorized == (await server.Http.GetAsync(path)).StatusCode, $"{path} without a key");
            Assert.True(HttpStatusCode.Unauthorized == (await server.Http.GetAsync(path + "?key=" + Key)).StatusCode, $"{path} with ?key= (headers only)");
            Assert.True(HttpStatusCode.Unauthorized == (await Send(server, path, ("Authorization", "Bearer " + Key + "x"))).StatusCode, $"{path} with a wrong key");
            foreach (var form in forms)
            {
                Assert.True(HttpStatusCode.OK == (await Send(server, path, form)).StatusCode, $"{path} with {form.Header}: {form.Value[..6]}");
            }
        }

        // The WebSocket: the same header forms, plus ?key= (browsers cannot set WebSocket headers); nothing else.
        var ws = new UriBuilder(server.BaseAddress) { Scheme = "ws", Path = "/ws" }.Uri;
        foreach (var form in forms)
        {
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader(form.Header, form.Value);
            await socket.ConnectAsync(ws, CancellationToken.None);
            Assert.Equal(WebSocketState.Open, socket.State);
        }
        using (var query = new ClientWebSocket())
        {
            await query.ConnectAsync(new UriBuilder(ws) { Query = "key=" + Key }.Uri, CancellationToken.None);
            Assert.Equal(WebSocketState.Open, query.State);
        }
        foreach (string? value in new[] { null, "Bearer wrong" })
        {
            using var refused = new ClientWebSocket();
            if (value is not null) refused.Options.SetRequestHeader("Authorization", value);
            await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(ws, CancellationToken.None));
        }

        // A kept image: the same key, and ?key= for <img src> links.
        await using (var client = await RealtimeClient.ConnectAsync(server.BaseAddress, Key))
        {
            await client.SendAsync(Generate(1, "a kept image") with { Keep = true });
            string file = (await client.NextFrameAsync(f => f.Kind == FrameKinds.Refined)).Frame!.File!;
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync("/api/history/" + file)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/api/history/{file}?key={Key}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await Send(server, "/api/history/" + file, forms[2])).StatusCode);
        }
    }

    private static Task<HttpResponseMessage> Send(TestServer server, string path, (string Header, string Value) credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation(credential.Header, credential.Value);
        return server.Http.SendAsync(request);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Cli.Realtime;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime;
using TurboGen.Server.Generation;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

public sealed class RealtimeSessionTests
{
    private static Func<ServerOptions, ServerOptions> Refine(TimeSpan delay) => o => o with { RefineDelay = delay };
    private static readonly Func<ServerOptions, ServerOptions> NoAutoRefine = Refine(TimeSpan.FromHours(1));

    [Fact]
    public async Task LiveFrame_ThenRefinedFrameOnPause_DecodesTheSameLatentsWithoutAnotherUnetRun()
    {
        await using var server = await TestServer.StartAsync(configure: Refine(TimeSpan.FromMilliseconds(150)));
        await using var client = await server.ConnectAsync();
        var hello = await client.NextTextAsync("hello");
        Assert.Equal("ready", hello.Text!.Value.GetProperty("state").GetString());
        Assert.True(hello.Text!.Value.GetProperty("hasTinyVae").GetBoolean());

        int unetBefore = server.UnetRuns();
        await client.SendAsync(Generate(1, "a red fox", seed: 11));
        var live = await client.NextFrameAsync();
        Assert.Equal("live", live.Frame!.Kind);
        Assert.Equal(1, live.Frame.RequestId);
        Assert.Equal(11, live.Frame.Seed);
        Assert.Equal((64, 64), (live.Frame.Width, live.Frame.Height));
        Assert.Contains("decode.tiny_vae", live.Frame.Timings.Stages.Keys);
        Assert.True(live.Frame.Timings.ModelMs > 0);
        var liveImage = ImageCodec.Decode(live.Image);
        Assert.Equal(64, liveImage.Width);
        int unetAfterLive = server.UnetRuns();
        Assert.Equal(unetBefore + 1, unetAfterLive);

        var refined = await client.NextFrameAsync();
        Assert.Equal("refined", refined.Frame!.Kind);
        Assert.Equal(1, refined.Frame.RequestId);
        Assert.Equal(11, refined.Frame.Seed);
        Assert.True(refined.Frame.Timings.Stages.ContainsKey("decode.vae"));
        Assert.Equal(unetAfterLive, server.UnetRuns());
        Assert.True(refined.ReceivedAt - live.ReceivedAt >= TimeSpan.FromMilliseconds(100), "the refine waited for the pause");

        // The refined image is the full VAE's decode of the same latents: equal to a full-VAE generation with the same inputs.
        var pipeline = server.Worker().Pipeline;
        var reference = pipeline.Generate(new GenerationRequest { Prompt = "a red fox", Seed = 11, Width = 64, Height = 64 });
        Assert.Equal(ImageCodec.EncodeJpeg(reference.Images[0], FrameEncoder.JpegQuality), refined.Image);
        Assert.NotEqual(live.Image, refined.Image);

        // A pause refines but keeps nothing; a keep of the same picture saves it (no decode, no UNet run), with metadata,
        // listed by the history endpoint and downloadable.
        Assert.Null(refined.Frame.File);
        Assert.Empty(Directory.GetFiles(server.Options.OutputDir, "*.png", SearchOption.AllDirectories));
        int jobs = server.Worker().JobsRun;
        await client.SendAsync(Generate(2, "a red fox", seed: 11) with { Keep = true });
        var kept = await client.NextFrameAsync();
        Assert.Equal(("refined", 2L), (kept.Frame!.Kind, kept.Frame.RequestId));
        Assert.Equal(refined.Image, kept.Image);
        Assert.Equal(jobs, server.Worker().JobsRun);
        string file = kept.Frame.File!;
        string path = Path.Combine(server.Options.OutputDir, file);
        Assert.True(File.Exists(path));
        var text = PngText.ReadTextChunks(await File.ReadAllBytesAsync(path));
        Assert.Contains("a red fox", text[PngText.ParametersKey]);
        Assert.Contains("Seed: 11", text[PngText.ParametersKey]);
        var history = await server.Http.GetFromJsonAsync<JsonElement>("/api/history");
        var entry = history.EnumerateArray().Single();
        Assert.Equal(file, entry.GetProperty("file").GetString());
        Assert.Equal(11, entry.GetProperty("parameters").GetProperty("seed").GetInt64());
        Assert.Equal("full", entry.GetProperty("parameters").GetProperty("vae").GetString());
        var png = await server.Http.GetByteArrayAsync(entry.GetProperty("url").GetString());
        Assert.Equal(64, ImageCodec.Decode(png).Width);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/api/history/..%2Fsecret.png")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/api/history/missing.png")).StatusCode);
    }

    [Fact]
    public async Task EnterForcesRefine_AndTheSamePictureIsNotGeneratedTwice()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a lighthouse"));
        var live = await client.NextFrameAsync();
        int unet = server.UnetRuns();

        // Enter on the same prompt: refined at once (no waiting for the pause), from the same latents.
        await client.SendAsync(Generate(2, "a lighthouse", refine: true));
        var refined = await client.NextFrameAsync();
        Assert.Equal(("refined", 2L), (refined.Frame!.Kind, refined.Frame.RequestId));
        Assert.Equal(unet, server.UnetRuns());

        // Typing back to the shown picture answers from the cache; a new one runs the model.
        await client.SendAsync(Generate(3, "a lighthouse"));
        var again = await client.NextFrameAsync();
        Assert.Equal(("live", 3L), (again.Frame!.Kind, again.Frame.RequestId));
        Assert.Equal(live.Image, again.Image);
        Assert.Equal(unet, server.UnetRuns());
        await client.SendAsync(Generate(4, "a lighthouse at night", refine: true));
        Assert.Equal("live", (await client.NextFrameAsync()).Frame!.Kind);
        Assert.Equal("refined", (await client.NextFrameAsync()).Frame!.Kind);
        Assert.Equal(unet + 1, server.UnetRuns());
    }

    [Fact]
    public async Task TheShownPictureAskedForAgain_IsRefinedOnPause_UnderTheNewestRequestId()
    {
        // The sketch surface sends its unchanged canvas again when a stroke ends: the refine after the pause must carry
        // that newest request id, since the web app ignores frames older than the one it shows.
        await using var server = await TestServer.StartAsync(configure: Refine(TimeSpan.FromMilliseconds(1500)));
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a house on a hill"));
        var live = await client.NextFrameAsync();
        Assert.Equal(("live", 1L), (live.Frame!.Kind, live.Frame.RequestId));
        await client.SendAsync(Generate(2, "a house on a hill"));
        var again = await client.NextFrameAsync();
        Assert.Equal(("live", 2L), (again.Frame!.Kind, again.Frame.RequestId));
        var refined = await client.NextFrameAsync();
        Assert.Equal(("refined", 2L), (refined.Frame!.Kind, refined.Frame.RequestId));
    }

    [Fact]
    public async Task LatestWins_TwentyQuickUpdates_AnswerTheLastWithFewJobs()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        var worker = server.Worker();
        using var gate = await WorkerGate.CloseAsync(worker);
        int jobsBefore = worker.JobsRun;
        long droppedBefore = worker.Metrics.FramesDropped;

        for (int i = 1; i <= 20; i++) await client.SendAsync(Generate(i, "a cat wearing a hat number " + i));
        await EventuallyAsync(() => worker.QueueDepth == 1, "the session's job waits behind the gate");
        gate.Release();

        var frame = await client.NextFrameAsync();
        Assert.Equal(20, frame.Frame!.RequestId);
        await gate.Job;
        int sessionJobs = worker.JobsRun - jobsBefore; // the gate was counted before
        Assert.InRange(sessionJobs, 1, 2);
        Assert.True(worker.Metrics.FramesDropped - droppedBefore >= 18, $"dropped {worker.Metrics.FramesDropped - droppedBefore}");
        Assert.Contains("turbogen_frames_dropped_total", await server.Http.GetStringAsync("/metrics"));

        // Nothing older arrives afterwards.
        await client.SendAsync(Generate(21, "a dog"));
        var next = await client.NextFrameAsync();
        Assert.Equal(21, next.Frame!.RequestId);
    }

    [Fact]
    public async Task LatestWins_WithoutGate_FramesOnlyMoveForward()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        var worker = server.Worker();
        int jobsBefore = worker.JobsRun;
        for (int i = 1; i <= 20; i++) await client.SendAsync(Generate(i, "sunset over the sea " + new string('!', i), size: 256));
        long last = 0;
        while (last < 20)
        {
            var frame = await client.NextFrameAsync();
            Assert.True(frame.Frame!.RequestId > last, "frames never go backwards");
            last = frame.Frame.RequestId;
        }
        Assert.True(worker.JobsRun - jobsBefore < 20, $"{worker.JobsRun - jobsBefore} jobs ran for 20 updates");
    }

    [Fact]
    public async Task Disconnect_CancelsQueuedWork_AndRemovesTheSession()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        Assert.Equal(1, server.Sessions().Count);
        using var gate = await WorkerGate.CloseAsync(worker);
        int jobsBefore = worker.JobsRun;
        await client.SendAsync(Generate(1, "never shown"));
        await EventuallyAsync(() => worker.QueueDepth == 1, "the job is queued");

        client.Abort();
        await EventuallyAsync(() => server.Sessions().Count == 0, "the session is removed");
        await EventuallyAsync(() => worker.QueueDepth == 0, "the queued job is cancelled");
        gate.Release();
        await gate.Job;
        await Task.Delay(50);
        Assert.Equal(jobsBefore, worker.JobsRun);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Disconnect_CancelsTheRunningJob()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        // A big job (1024², 4 steps) runs long enough on the tiny model to be cancelled mid-way.
        await client.SendAsync(new ClientMessage { RequestId = 1, Prompt = "big", Seed = 1, Steps = 4, Width = 1024, Height = 1024 });
        await EventuallyAsync(() => worker.Current is { SessionKey: var k } && k.StartsWith("rt-", StringComparison.Ordinal), "the job runs");
        client.Abort();
        await EventuallyAsync(() => server.Sessions().Count == 0 && worker.Current is null, "session removed and job ended");
        Assert.Contains("turbogen_jobs_cancelled_total 1", await server.Http.GetStringAsync("/metrics"));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task SupersededRunningJob_FinishesWhenThePictureIsStale_SoSlowModelsStillFollowTyping()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "small and quick"));
        await client.NextFrameAsync();
        await Task.Delay(100); // the shown frame is now much older than twice a typical (millisecond) job

        // 2048² keeps the tiny model busy long enough (hundreds of ms) to be observed running even on a loaded machine.
        await client.SendAsync(new ClientMessage { RequestId = 2, Prompt = "big and slow", Seed = 1, Steps = 4, Width = 2048, Height = 2048 });
        await EventuallyAsync(() => worker.Current is { IsRunning: true } c && c.SessionKey.StartsWith("rt-", StringComparison.Ordinal), "the big job runs");
        await client.SendAsync(Generate(3, "the newest"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
        Assert.Equal(3, (await client.NextFrameAsync()).Frame!.RequestId);
    }

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

    [Fact]
    public async Task TwoSessionsAndABusyClient_AreServedRoundRobin()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        var worker = server.Worker();
        await using var a = await server.ConnectAsync();
        await using var b = await server.ConnectAsync();
        await a.NextTextAsync("hello");
        await b.NextTextAsync("hello");
        using var gate = await WorkerGate.CloseAsync(worker);

        // A busy client queues six jobs first; then both sessions ask for one frame each. Each hog job records its
        // position in the worker's execution order when it starts (JobsRun is counted just before a job runs).
        int jobsBefore = worker.JobsRun;
        var hogPositions = new List<int>();
        var hog = Enumerable.Range(0, 6).Select(i =>
        {
            var recorder = new StartRecorder(() => { lock (hogPositions) hogPositions.Add(worker.JobsRun - jobsBefore); });
            return worker.Submit("hog", new GenerationRequest { Prompt = "hog", Seed = i, Width = 64, Height = 64 }, CancellationToken.None,
                (_, _) => recorder.Report()).Result;
        }).ToArray();
        await a.SendAsync(Generate(1, "session a"));
        await EventuallyAsync(() => worker.QueueDepth == 7, "a's job queued");
        await b.SendAsync(Generate(1, "session b"));
        await EventuallyAsync(() => worker.QueueDepth == 8, "all jobs queued");
        gate.Release();

        Assert.Equal(1, (await a.NextFrameAsync()).Frame!.RequestId);
        Assert.Equal(1, (await b.NextFrameAsync()).Frame!.RequestId);
        await Task.WhenAll(hog);
        // Round-robin over sessions with pending work: hog, a, b, hog, hog, ... — not the six hog jobs first.
        lock (hogPositions) Assert.Equal([1, 4, 5, 6, 7, 8], hogPositions.Order());
    }

    /// <summary>Runs an action on a job's first progress event (on the worker thread, before the next job can start).</summary>
    private sealed class StartRecorder(Action onStart)
    {
        private bool _started;

        public void Report()
        {
            if (_started) return;
            _started = true;
            onStart();
        }
    }

    [Fact]
    public async Task FullQueue_AnswersBusy_AndTheSessionRecovers()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { QueueCapacity = 1, RefineDelay = TimeSpan.FromHours(1) });
        var worker = server.Worker();
        await using var client = await server.ConnectAsync();
        await client.NextTextAsync("hello");
        using var gate = await WorkerGate.CloseAsync(worker);
        // Every client is admitted once up to the hard bound (4 × capacity): fill it with four other clients.
        var fillers = Enumerable.Range(0, 4).Select(i =>
            worker.GenerateAsync("filler-" + i, new GenerationRequest { Prompt = "fill", Seed = 1, Width = 64, Height = 64 }, CancellationToken.None)).ToList();

        await client.SendAsync(Generate(1, "too many"));
        var busy = await client.NextTextAsync("busy");
        Assert.Equal(1, busy.Text!.Value.GetProperty("requestId").GetInt64());
        Assert.True(busy.Text!.Value.GetProperty("retryAfterMs").GetInt64() > 0);
        Assert.Contains("turbogen_jobs_rejected_total 1", await server.Http.GetStringAsync("/metrics"));

        gate.Release();
        await Task.WhenAll(fillers);
        await client.SendAsync(Generate(2, "now it fits"));
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
    public async Task AFailingKeep_IsReportedOnce_AndNeverRetriedByItself()
    {
        // Issue 14.1: a refine whose save failed was retried in a loop (thousands of errors and VAE decodes a second).
        // Saving is now an explicit keep; here the output folder cannot be created (its path is a file), so every save fails.
        string notAFolder = Path.Combine(TurboGen.Testing.TestPaths.NewTempDir("turbogen-blocked"), "file");
        await File.WriteAllTextAsync(notAFolder, "in the way");
        await using var server = await TestServer.StartAsync(configure: o => o with { OutputDir = notAFolder, RefineDelay = TimeSpan.FromMilliseconds(30) });
        var worker = server.Worker();
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a refine that cannot be saved") with { Keep = true });
        Assert.Equal(FrameKinds.Live, (await client.NextFrameAsync()).Frame!.Kind);
        var error = await client.NextTextAsync("error");
        Assert.Equal(1, error.Text!.Value.GetProperty("requestId").GetInt64());
        Assert.Equal("keep", error.Text!.Value.GetProperty("field").GetString());
        // The refined picture is still shown, naming no file.
        Assert.Null((await client.NextFrameAsync()).Frame!.File);
        int jobs = worker.JobsRun;

        // Ten refine delays later: no second error, no further decode job.
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReceiveAsync(quiet.Token));
        Assert.Equal(jobs, worker.JobsRun);
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
    public async Task InitImage_Sketch_GivesAnImageToImageFrame_ThatFollowsTheSketch()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        string Sketch(byte r, byte g, byte b)
        {
            var pixels = new byte[64 * 64 * 3];
            for (int i = 0; i < pixels.Length; i += 3) (pixels[i], pixels[i + 1], pixels[i + 2]) = i < pixels.Length / 2 ? (r, g, b) : ((byte)255, (byte)255, (byte)255);
            return "data:image/png;base64," + Convert.ToBase64String(ImageCodec.EncodePng(new RgbImage(64, 64, pixels)));
        }
        await client.SendAsync(new ClientMessage { RequestId = 1, Prompt = "a house", Seed = 3, Width = 64, Height = 64, Image = Sketch(255, 0, 0), Strength = 0.6 });
        var red = await client.NextFrameAsync();
        Assert.True(red.Frame!.ImageToImage);
        await client.SendAsync(new ClientMessage { RequestId = 2, Prompt = "a house", Seed = 3, Width = 64, Height = 64, Image = Sketch(0, 0, 255), Strength = 0.6 });
        var blue = await client.NextFrameAsync();
        Assert.Equal(2, blue.Frame!.RequestId);
        Assert.True(MeanAbsDiff(ImageCodec.Decode(red.Image!), ImageCodec.Decode(blue.Image!)) > 1, "the frame follows the sketch");
    }

    [Fact]
    public async Task Variants_AreOneFramePerSeed()
    {
        await using var server = await TestServer.StartAsync(configure: NoAutoRefine);
        await using var client = await server.ConnectAsync();
        await client.SendAsync(new ClientMessage { Type = "variants", RequestId = 1, Prompt = "a robot", Seed = 100, Width = 64, Height = 64, Count = 4 });
        var frames = new List<FrameHeader>();
        for (int i = 0; i < 4; i++) frames.Add((await client.NextFrameAsync()).Frame!);
        Assert.All(frames, f => Assert.Equal("variant", f.Kind));
        Assert.Equal([0, 1, 2, 3], frames.Select(f => f.Index!.Value));
        Assert.Equal([100L, 101, 102, 103], frames.Select(f => f.Seed));
    }

    [Fact]
    public async Task Styles_AreListed_AndApplied()
    {
        await using var server = await TestServer.StartAsync(configure: Refine(TimeSpan.FromMilliseconds(50)));
        var styles = await server.Http.GetFromJsonAsync<JsonElement>("/api/styles");
        var ids = styles.EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        Assert.True(ids.Count >= 12);
        Assert.Contains("neon-punk", ids);

        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a tram", style: "Neon punk") with { Keep = true });
        var refined = await client.NextFrameAsync(f => f.Kind == "refined");
        Assert.StartsWith("neon punk style a tram, cyberpunk", refined.Frame!.Prompt);
        var text = PngText.ReadTextChunks(await File.ReadAllBytesAsync(Path.Combine(server.Options.OutputDir, refined.Frame!.File!)));
        Assert.StartsWith("neon punk style a tram, cyberpunk", text[PngText.ParametersKey]);
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

    [Fact]
    public async Task Benchmark_TypesASentence_AndReportsLatencies()
    {
        await using var server = await TestServer.StartAsync(configure: Refine(TimeSpan.FromMilliseconds(100)));
        var result = await RealtimeBenchmark.RunAsync(new RealtimeBenchmarkOptions
        {
            Server = server.BaseAddress, Sentence = "a tiny red boat", KeysPerSecond = 40, Width = 64, Height = 64,
        });
        Assert.Equal(15, result.Keystrokes);
        Assert.InRange(result.FramesShown, 1, 15);
        Assert.Equal(15, result.KeystrokeLatenciesMs.Count);
        Assert.True(result.MedianLatencyMs > 0 && result.P90LatencyMs >= result.MedianLatencyMs);
        Assert.True(result.MedianModelMs > 0);
        Assert.True(result.RefineLatencyMs >= 100, $"refine {result.RefineLatencyMs}");
        Assert.Contains("keystrokes", result.Summary());
    }

    private static double MeanAbsDiff(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        double sum = 0;
        for (int i = 0; i < a.Pixels.Length; i++) sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        return sum / a.Pixels.Length;
    }
}

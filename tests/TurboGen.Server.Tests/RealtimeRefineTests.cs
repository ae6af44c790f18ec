using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Realtime;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// Real-time sessions, refine and keep: a live frame then the full-VAE refine of the same latents on a pause or on Enter, the shown
/// picture answered from the cache and refined under the newest request id, and a failing keep reported once and never retried.
/// </summary>
public sealed class RealtimeRefineTests
{
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
}

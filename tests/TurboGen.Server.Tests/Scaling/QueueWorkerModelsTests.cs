using System.Text.Json;
using TurboGen.Cli.Realtime;
using TurboGen.Imaging;
using TurboGen.Server.Realtime.Protocol;
using TurboGen.Testing;
using TurboGen.Upscaling;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.RealtimeUpscaleTests;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>
/// A gateway lists the ControlNets and ESRGAN upscalers its workers have loaded (A1111 and native endpoints) and routes a job
/// naming one to a worker that has it: here one plain worker and one with the tiny SDXL ControlNet and ESRGAN, and the
/// gateway's answers match one process with the same models.
/// </summary>
public sealed class QueueWorkerModelsTests
{
    private const string ControlNet = "tiny/controlnet-canny-sdxl", Esrgan = "RealESRGAN_x4plus_tiny";

    private static ServerOptions WithModels(ServerOptions o) => o with
    {
        ModelPath = TinyModels.GetControlled(TinyFamily.SdxlTurbo),
        ControlNets = [new(ControlNet, TinyControlNets.Get(TinyFamily.SdxlTurbo))],
        UpscalerPaths = [TinyEsrgan.GetOnnx(4)],
    };

    private static string Checkerboard()
    {
        var pixels = new byte[64 * 64 * 3];
        for (int i = 0; i < 64 * 64; i++) pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = (i % 64 / 8 + i / 64 / 8) % 2 == 0 ? (byte)240 : (byte)10;
        return Convert.ToBase64String(ImageCodec.EncodePng(new RgbImage(64, 64, pixels)));
    }

    private static byte[] Pixels(JsonElement b64) => ImageCodec.Decode(Convert.FromBase64String(b64.GetString()!)).Pixels;

    private static int MaxDifference(byte[] a, byte[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    [Fact]
    public async Task Gateway_ListsTheWorkersControlNetsAndUpscalers_AndRoutesJobsNamingThemToAWorkerThatHasThem()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync(); // no ControlNet, no ESRGAN
        await kit.StartWorkerAsync(configure: WithModels);
        var gateway = await kit.StartGatewayAsync();
        await QueueTests.WaitForAsync(() => gateway.Host.Gateway!.Snapshot.Workers.Count == 2 && gateway.Host.ControlNets.All.Count == 1);

        var (status, body) = await GetJsonAsync(gateway.Http, "/controlnet/model_list");
        Assert.Equal(200, status);
        Assert.Equal([ControlNet], body.GetProperty("model_list").EnumerateArray().Select(m => m.GetString()));
        (_, body) = await GetJsonAsync(gateway.Http, "/sdapi/v1/upscalers");
        Assert.Equal(["None", "Lanczos", Esrgan], body.EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        Assert.Equal(4, body.EnumerateArray().Single(u => u.GetProperty("name").GetString() == Esrgan).GetProperty("scale").GetDouble());
        (_, body) = await GetJsonAsync(gateway.Http, "/api/upscalers");
        Assert.Equal(["Lanczos", Esrgan], body.EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        (_, body) = await GetJsonAsync(gateway.Http, "/api/info");
        Assert.Equal([ControlNet], body.GetProperty("model").GetProperty("controlnets").EnumerateArray().Select(m => m.GetString()));

        string unit = $$"""{"enabled": true, "image": "{{Checkerboard()}}", "module": "none", "model": "{{ControlNet}}"}""";
        string txt2img = """{"prompt": "a cat", "width": 64, "height": 64, "seed": 5, "alwayson_scripts": {"controlnet": {"args": [""" + unit + "]}}}";
        string upscale = $$"""{"image": "{{Checkerboard()}}", "upscaler_1": "{{Esrgan}}", "upscaling_resize": 2}""";
        // Several times each: a job that reached the plain worker would fail ("no ControlNets" / unknown upscaler).
        var controlled = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostJsonAsync(gateway.Http, "/sdapi/v1/txt2img", txt2img)));
        var upscaled = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostJsonAsync(gateway.Http, "/sdapi/v1/extra-single-image", upscale)));
        Assert.All(controlled.Concat(upscaled), r => Assert.True(r.Status == 200, r.Body.ToString()));

        // One process with the same models and one ONNX thread, as the workers (thread counts change float sums).
        await using var local = await TestServer.StartAsync(configure: o => WithModels(o) with { Runtime = QueueTestKit.WorkerOptions().Runtime });
        var one = await PostJsonAsync(local.Http, "/sdapi/v1/txt2img", txt2img);
        var plain = await PostJsonAsync(local.Http, "/sdapi/v1/txt2img", """{"prompt": "a cat", "width": 64, "height": 64, "seed": 5}""");
        // The same picture as one process up to float rounding (an 8-bit step: another ONNX session of the same files), while
        // the ControlNet changes it far more than that.
        Assert.All(controlled, r => Assert.InRange(MaxDifference(Pixels(one.Body.GetProperty("images")[0]), Pixels(r.Body.GetProperty("images")[0])), 0, 2));
        Assert.InRange(MaxDifference(Pixels(plain.Body.GetProperty("images")[0]), Pixels(one.Body.GetProperty("images")[0])), 20, 255);
        var oneUpscale = await PostJsonAsync(local.Http, "/sdapi/v1/extra-single-image", upscale);
        Assert.All(upscaled, r => Assert.InRange(MaxDifference(Pixels(oneUpscale.Body.GetProperty("image")), Pixels(r.Body.GetProperty("image"))), 0, 2));

        // A ControlNet no live worker has is refused at the gateway, naming the field (as in one process).
        var (unknown, error, _) = await PostJsonAsync(gateway.Http, "/sdapi/v1/txt2img", txt2img.Replace(ControlNet, "tiny/other", StringComparison.Ordinal));
        Assert.Equal(422, unknown);
        Assert.Contains("tiny/other", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveUpscale_ThroughAGateway_RelaysEveryTilesProgress_ThenTheFrame()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync(configure: WithModels);
        var gateway = await kit.StartGatewayAsync();
        await QueueTests.WaitForAsync(() => gateway.Host.Upscalers.All.Any(u => u.Name == Esrgan));

        await using var ws = await RealtimeClient.ConnectAsync(gateway.BaseAddress);
        await ws.SendAsync(Upscale(1, DataUrl(300, 200), upscaler: Esrgan));
        var (progress, frame) = await CollectAsync(ws, 1);
        // The worker's tiles, relayed through Redis in order (the gateway's ESRGAN is a name only: the count is the worker's plan for a ×4 network, any side, multiple 1).
        int tiles = TiledUpscaler.TileCount(300, 200, 1, TileOptions.Default);
        Assert.Equal(Enumerable.Range(1, tiles).Select(i => (i, tiles)), progress);
        Assert.Equal((FrameKinds.Upscaled, 600, 400), (frame.Frame!.Kind, frame.Frame.Width, frame.Frame.Height));
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using TurboGen.Cli.Realtime;
using TurboGen.Imaging;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;
using TurboGen.Testing;
using TurboGen.Upscaling;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// The live protocol's "upscale" message over a real WebSocket against the tiny ESRGAN ×4 server: a progress message per
/// tile counting up to the tile count, then one "upscaled" PNG frame with exactly /api/upscale's pixels; keep; bad input
/// answered by typed errors naming the field, the socket staying open.
/// </summary>
public sealed class RealtimeUpscaleTests(UpscalerServerFixture fixture) : IClassFixture<UpscalerServerFixture>
{
    private const string Esrgan = "RealESRGAN_x4plus_tiny";

    internal static string DataUrl(int w, int h) => "data:image/png;base64," + Convert.ToBase64String(Png(w, h));

    internal static ClientMessage Upscale(long id, string? image, double? scale = 2, string? upscaler = null, bool keep = false) =>
        new() { Type = "upscale", RequestId = id, Image = image, Scale = scale, Upscaler = upscaler, Keep = keep };

    /// <summary>The progress messages of request <paramref name="id"/> until its frame (any error fails).</summary>
    internal static async Task<(List<(int Done, int Total)> Progress, RealtimeMessage Frame)> CollectAsync(RealtimeClient ws, long id)
    {
        var progress = new List<(int, int)>();
        while (true)
        {
            var m = await ws.WaitForAsync(m => m.Frame?.RequestId == id || m.Text?.TryGetProperty("requestId", out var r) == true && r.ValueKind == JsonValueKind.Number && r.GetInt64() == id, RealtimeTestKit.Timeout);
            if (m.Frame is not null) return (progress, m);
            var text = m.Text!.Value;
            Assert.True(m.Type == "progress", text.ToString());
            Assert.Equal("upscale", text.GetProperty("stage").GetString());
            progress.Add((text.GetProperty("done").GetInt32(), text.GetProperty("total").GetInt32()));
        }
    }

    [Fact]
    public async Task Upscale_ReportsEveryTile_ThenThePng_EqualToApiUpscale()
    {
        await using var ws = await fixture.Server.ConnectAsync();
        string image = DataUrl(300, 200);
        await ws.SendAsync(Upscale(1, image));
        var (progress, frame) = await CollectAsync(ws, 1);

        // One message per tile, counting 1…n, n the tiles the network runs on (the 300×200 input in 192-pixel tiles: at least 2 × 2).
        var esrgan = Assert.IsType<EsrganUpscaler>(fixture.Server.Host.Upscalers.Resolve(Esrgan, "upscaler"));
        int tiles = TiledUpscaler.TileCount(300, 200, esrgan.Model.InputMultiple, esrgan.Tiles);
        Assert.True(tiles >= 4, $"{tiles} tiles");
        Assert.Equal(Enumerable.Range(1, tiles).Select(i => (i, tiles)), progress);

        var header = frame.Frame!;
        Assert.Equal((FrameKinds.Upscaled, "png", 600, 400), (header.Kind, header.Format, header.Width, header.Height));
        Assert.Equal(new UpscaleRecord(Esrgan, 600, 400, 300, 200, false), header.Upscale);
        Assert.Null(header.File);
        var pixels = ImageCodec.Decode(frame.Image!);

        var (status, body, _) = await PostJsonAsync(fixture.Server.Http, "/api/upscale", JsonSerializer.Serialize(new { image, scale = 2 }));
        Assert.True(status == 200, body.ToString());
        Assert.Equal(ImageCodec.Decode(Convert.FromBase64String(body.GetProperty("b64_json").GetString()!)).Pixels, pixels.Pixels);

        // Lanczos has no tiles: no progress, the frame at once.
        await ws.SendAsync(Upscale(2, image, scale: 1.5, upscaler: "Lanczos"));
        (progress, frame) = await CollectAsync(ws, 2);
        Assert.Empty(progress);
        Assert.Equal((450, 300), (frame.Frame!.Width, frame.Frame.Height));
    }

    [Fact]
    public async Task ANewerUpscale_CancelsTheRunningOne_WhichAnswersNothingMore()
    {
        await using var ws = await fixture.Server.ConnectAsync();
        await ws.SendAsync(Upscale(1, DataUrl(1024, 1024))); // 36 tiles or so
        await ws.WaitForAsync(m => m.Type == "progress", RealtimeTestKit.Timeout);
        await ws.SendAsync(Upscale(2, DataUrl(32, 32)));
        var seen = new List<string>();
        RealtimeMessage? last;
        do
        {
            last = await ws.WaitForAsync(_ => true, RealtimeTestKit.Timeout);
            seen.Add(last.Frame is { } f ? $"frame {f.RequestId}" : $"{last.Type} {last.Text!.Value.GetProperty("requestId").GetInt64()}");
        }
        while (last.Frame is null);
        // The first stopped between tiles: its progress ended short of its total and it sent no frame; the second was answered.
        Assert.True(seen[^1] == "frame 2", string.Join(", ", seen));
        Assert.DoesNotContain("frame 1", seen);
        Assert.DoesNotContain("error 1", seen);
    }

    [Fact]
    public async Task UpscaleWithKeep_NamesTheFile_InTheClientsHistory()
    {
        string client = "live-upscale-" + Guid.NewGuid().ToString("N");
        await using var ws = await RealtimeClient.ConnectAsync(fixture.Server.BaseAddress, clientId: client);
        await ws.SendAsync(Upscale(5, DataUrl(64, 48), scale: 4, keep: true));
        var (_, frame) = await CollectAsync(ws, 5);
        string file = frame.Frame!.File!;
        Assert.Matches(OutputWriter.FileNamePattern, file);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/history");
        request.Headers.TryAddWithoutValidation(HistoryOwner.HeaderName, client);
        using var response = await fixture.Server.Http.SendAsync(request);
        var entry = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Equal(file, entry.GetProperty("file").GetString());
        Assert.Equal(256, entry.GetProperty("upscale").GetProperty("width").GetInt32());
        Assert.Equal(48, entry.GetProperty("upscale").GetProperty("sourceHeight").GetInt32());
    }

    [Theory]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "IMG", "scale": 9}""", "scale")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "IMG", "scale": 0.5}""", "scale")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "IMG", "scale": "big"}""", "scale")]
    [InlineData("""{"type": "upscale", "requestId": 1}""", "image")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "not base64!"}""", "image")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "HUGE"}""", "image")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "IMG", "upscaler": "4x-UltraSharp"}""", "upscaler")]
    [InlineData("""{"type": "upscale", "image": "IMG"}""", "requestId")]
    [InlineData("""{"type": "upscale", "requestId": 1, "image": "IMG", "keep": "yes"}""", "keep")]
    public async Task BadUpscale_IsATypedErrorNamingTheField_AndTheSocketStaysOpen(string json, string field)
    {
        await using var ws = await fixture.Server.ConnectAsync();
        await ws.SendTextAsync(json.Replace("IMG", DataUrl(16, 16)).Replace("HUGE", Convert.ToBase64String(HugePngHeader(20000, 20000))));
        var error = (await ws.NextTextAsync("error")).Text!.Value;
        Assert.Equal(field, error.GetProperty("field").GetString());
        if (field != "requestId") Assert.Equal(1, error.GetProperty("requestId").GetInt64());

        // The socket is still open, and a later request id (only increasing ones are taken) is served.
        await ws.SendAsync(Upscale(2, DataUrl(16, 16)));
        var (_, frame) = await CollectAsync(ws, 2);
        Assert.Equal(32, frame.Frame!.Width);
        await ws.SendAsync(Upscale(2, DataUrl(16, 16)));
        Assert.Equal("requestId", (await ws.NextTextAsync("error")).Text!.Value.GetProperty("field").GetString());
    }
}

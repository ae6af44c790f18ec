using System.Net.Http.Json;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Cli.Realtime;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// Real-time requests beyond plain text-to-image: a sketch as init image, variants (one frame per seed), styles, and the typing
/// benchmark against a running server.
/// </summary>
public sealed class RealtimeRequestKindsTests
{
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

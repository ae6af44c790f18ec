using System.Text.Json;
using TurboGen.Building;
using TurboGen.Imaging;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// The server on models built from diffusers folders around the golden LCM-distilled and SDXS-shaped UNets: /api/generate
/// makes images, guidance reaches the LCM UNet through its embedding (no CFG), and the SDXS shape decodes with TAESD.
/// </summary>
public sealed class UnetVariantApiTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("unet-variant-server");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task LcmModel_Generates_AndTheGuidanceScaleReachesTheUnet()
    {
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(_root, "lcm"), "unet_lcm_tiny", GoldenDiffusersFolder.LcmSchedulerJson(), "LatentConsistencyModelPipeline");
        await using var server = await StartOn(folder);

        async Task<byte[]> Generate(double guidance, string negative)
        {
            var (status, body, _) = await PostJsonAsync(server.Http, "/api/generate",
                JsonSerializer.Serialize(new { prompt = "a fox", negative_prompt = negative, width = 64, height = 64, steps = 2, guidance_scale = guidance, seed = 7 }));
            Assert.Equal(200, status);
            return Convert.FromBase64String(body.GetProperty("images")[0].GetProperty("data").GetString()!);
        }

        byte[] eight = await Generate(8, "");
        Assert.Contains("Sampler: LCM", PngText.ReadTextChunks(eight)[PngText.ParametersKey]);
        Assert.NotEqual(ImageCodec.Decode(eight).Pixels, ImageCodec.Decode(await Generate(3, "")).Pixels);
        Assert.Equal(ImageCodec.Decode(eight).Pixels, ImageCodec.Decode(await Generate(8, "blurry")).Pixels);
    }

    [Fact]
    public async Task LcmModel_LiveFrames_KeyOnTheGuidanceButNotTheNegativePrompt()
    {
        // An LCM UNet runs no classifier-free guidance: a negative prompt changes nothing, so it must not re-run the UNet nor be
        // reported, while the guidance scale (its embedding) does change the picture.
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(_root, "lcm-live"), "unet_lcm_tiny", GoldenDiffusersFolder.LcmSchedulerJson(), "LatentConsistencyModelPipeline");
        await using var server = await StartOn(folder, configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        Assert.True(server.Worker().Model.GuidanceEmbedding);
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a harbour", seed: 4) with { Guidance = 8 });
        var plain = await client.NextFrameAsync();
        int unet = server.UnetRuns();

        await client.SendAsync(Generate(2, "a harbour", seed: 4) with { Guidance = 8, Negative = "boats" });
        var negative = await client.NextFrameAsync();
        Assert.Equal(unet, server.UnetRuns());
        Assert.Equal(plain.Image, negative.Image);
        Assert.Equal(("", 8.0), (negative.Frame!.Negative, negative.Frame.Guidance));

        await client.SendAsync(Generate(3, "a harbour", seed: 4) with { Guidance = 3, Negative = "boats" });
        var other = await client.NextFrameAsync();
        Assert.True(server.UnetRuns() > unet);
        Assert.NotEqual(plain.Image, other.Image);
    }

    [Fact]
    public async Task SdxsShapedModel_GeneratesInOneStep_WithTheTinyVae()
    {
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(_root, "sdxs"), "unet_sdxs_tiny", TinyModels.SchedulerJson("EulerDiscreteScheduler"));
        await using var server = await StartOn(folder, tinyVae: true);
        var (status, body, _) = await PostJsonAsync(server.Http, "/api/generate",
            JsonSerializer.Serialize(new { prompt = "a fox", width = 64, height = 64, steps = 1, seed = 7, tiny_vae = true }));
        Assert.Equal(200, status);
        Assert.Equal("tiny", body.GetProperty("vae").GetString());
        Assert.Equal((64, 64, "png"), ImageCodec.Probe(Convert.FromBase64String(body.GetProperty("images")[0].GetProperty("data").GetString()!)));
    }

    private Task<TestServer> StartOn(string diffusersFolder, bool tinyVae = false, Func<ServerOptions, ServerOptions>? configure = null)
    {
        var resolve = new ModelResolveOptions { CacheRoot = Path.Combine(_root, "cache") };
        string onnx = ModelResolver.Resolve(diffusersFolder, resolve);
        string? tiny = tinyVae ? ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), resolve) : null;
        return TestServer.StartAsync(configure: o => (configure ?? (x => x))(o with { ModelPath = onnx, ModelId = "tiny/" + Path.GetFileName(diffusersFolder), TinyVaePath = tiny }));
    }
}

using System.Text.Json;
using TurboGen.Building;
using TurboGen.Imaging;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;

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

    private Task<TestServer> StartOn(string diffusersFolder, bool tinyVae = false)
    {
        var resolve = new ModelResolveOptions { CacheRoot = Path.Combine(_root, "cache") };
        string onnx = ModelResolver.Resolve(diffusersFolder, resolve);
        string? tiny = tinyVae ? ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), resolve) : null;
        return TestServer.StartAsync(configure: o => o with { ModelPath = onnx, ModelId = "tiny/" + Path.GetFileName(diffusersFolder), TinyVaePath = tiny });
    }
}

using System.Text.Json;
using TurboGen.Imaging;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>Native API: every engine option, seeds and per-stage timings; /api/info.</summary>
public sealed class NativeApiTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Generate_Variants_ReturnConsecutiveSeeds_TimingsPerStage_AndMetadata()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/api/generate",
            """{"prompt": "a fox", "negative_prompt": "blurry", "width": 64, "height": 64, "steps": 2, "guidance_scale": 2.5, "seed": 100, "n": 3, "style": "vivid"}""");
        Assert.Equal(200, status);
        Assert.Equal([100L, 101, 102], body.GetProperty("seeds").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal("txt2img", body.GetProperty("mode").GetString());
        Assert.Equal("vivid", body.GetProperty("style").GetString());
        Assert.StartsWith("a fox, vivid colors", body.GetProperty("prompt").GetString());
        Assert.StartsWith("blurry, ", body.GetProperty("negative_prompt").GetString());
        Assert.False(body.GetProperty("prompt_truncated").GetBoolean());
        var images = body.GetProperty("images");
        Assert.Equal(3, images.GetArrayLength());
        for (int i = 0; i < 3; i++)
        {
            byte[] png = Convert.FromBase64String(images[i].GetProperty("data").GetString()!);
            Assert.Equal((64, 64, "png"), ImageCodec.Probe(png));
            var fields = Infotext.Parse(PngText.ReadTextChunks(png)[PngText.ParametersKey]);
            Assert.Equal(100 + i, fields.Seed);
            Assert.Equal(2.5f, fields.CfgScale);
            Assert.Equal(images[i].GetProperty("infotext").GetString(), PngText.ReadTextChunks(png)[PngText.ParametersKey]);
        }
        var timings = body.GetProperty("timings");
        var stages = timings.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()).ToList();
        Assert.Contains("unet.step0", stages);
        Assert.Contains("unet.step1", stages);
        Assert.Contains(stages, s => s!.StartsWith("decode", StringComparison.Ordinal));
        Assert.True(timings.GetProperty("total_ms").GetDouble() >= timings.GetProperty("generate_ms").GetDouble());
        Assert.True(timings.GetProperty("queue_ms").GetDouble() >= 0);
    }

    [Fact]
    public async Task Generate_ImageToImage_WithTinyVae_AndWebpOutput()
    {
        string init = Convert.ToBase64String(Png(64, 64));
        var (status, body, _) = await PostJsonAsync(Http, "/api/generate",
            JsonSerializer.Serialize(new { prompt = "p", width = 64, height = 64, init_image = init, strength = 0.7, tiny_vae = true, output_format = "webp", quality = 70, seed = 3 }));
        Assert.Equal(200, status);
        Assert.Equal("img2img", body.GetProperty("mode").GetString());
        Assert.Equal(0.7, body.GetProperty("strength").GetDouble(), 5);
        Assert.Equal("tiny", body.GetProperty("vae").GetString());
        var image = body.GetProperty("images")[0];
        Assert.Equal("webp", image.GetProperty("format").GetString());
        Assert.Equal((64, 64, "webp"), ImageCodec.Probe(Convert.FromBase64String(image.GetProperty("data").GetString()!)));
        Assert.Contains(body.GetProperty("timings").GetProperty("stages").EnumerateArray(), s => s.GetProperty("stage").GetString() == "vae_encode");
    }

    [Fact]
    public async Task Generate_SameSeed_IsReproducible()
    {
        const string json = """{"prompt": "same", "width": 64, "height": 64, "seed": 9}""";
        var (_, a, _) = await PostJsonAsync(Http, "/api/generate", json);
        var (_, b, _) = await PostJsonAsync(Http, "/api/generate", json);
        Assert.Equal(a.GetProperty("images")[0].GetProperty("data").GetString(), b.GetProperty("images")[0].GetProperty("data").GetString());
    }

    [Theory]
    [InlineData("""{"prompt": "x", "n": 17, "width": 64, "height": 64}""", "n")]
    [InlineData("""{"prompt": "x", "width": 2056, "height": 64}""", "width")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 60}""", "height")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "steps": 51}""", "steps")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "guidance_scale": -1}""", "guidance_scale")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "seed": -2}""", "seed")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "init_image": "/etc/passwd"}""", "init_image")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "quality": 0}""", "quality")]
    [InlineData("""[1, 2]""", "body")]
    [InlineData("""{"prompt": 5}""", "prompt")]
    public async Task Generate_InvalidField_Is400_NamingTheField(string json, string field)
    {
        var (status, body, _) = await PostJsonAsync(Http, "/api/generate", json);
        Assert.Equal(400, status);
        Assert.Equal(field, body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Info_DescribesModelLimitsAndStyles()
    {
        var (status, info) = await GetJsonAsync(Http, "/api/info");
        Assert.Equal(200, status);
        Assert.Equal("ready", info.GetProperty("state").GetString());
        Assert.Equal("tiny/SdxlTurbo", info.GetProperty("model").GetProperty("id").GetString());
        Assert.Equal("sdxl", info.GetProperty("model").GetProperty("family").GetString());
        Assert.True(info.GetProperty("model").GetProperty("image_to_image").GetBoolean());
        Assert.Equal(2048, info.GetProperty("limits").GetProperty("max_side").GetInt32());
        Assert.Equal(16, info.GetProperty("limits").GetProperty("max_images").GetInt32());
        Assert.False(info.GetProperty("auth_required").GetBoolean());
        Assert.Contains(info.GetProperty("styles").EnumerateArray(), s => s.GetString() == "natural");
    }
}

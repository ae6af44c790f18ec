using System.Text.Json;
using TurboGen.Imaging;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>AUTOMATIC1111 API: request bodies replayed as real clients send them (TestData/a1111), checked field by field.</summary>
public sealed class A1111ApiTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private HttpClient Http => fixture.Server.Http;
    private string Sampler => fixture.Server.Host.Service!.Model.Sampler;

    private static string Body(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "a1111", name));

    [Fact]
    public async Task Txt2Img_WebuiapiBody_ReturnsFourPngsWithInfotext_AndA1111Info()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Body("webuiapi-txt2img.json"));
        Assert.Equal(200, status);
        Assert.Equal(JsonValueKind.String, body.GetProperty("info").ValueKind);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        var images = body.GetProperty("images").EnumerateArray().Select(i => Convert.FromBase64String(i.GetString()!)).ToList();

        Assert.Equal(4, images.Count); // batch_size 2 × n_iter 2
        Assert.Equal([1234L, 1235, 1236, 1237], info.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()));
        Assert.Equal(1234, info.GetProperty("seed").GetInt64());
        Assert.Equal("cute squirrel", info.GetProperty("prompt").GetString());
        string styled = info.GetProperty("all_prompts")[0].GetString()!;
        Assert.StartsWith("cute squirrel, vivid colors", styled);
        Assert.Equal(4, info.GetProperty("all_prompts").GetArrayLength());
        Assert.Equal(["vivid"], info.GetProperty("styles").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(64, info.GetProperty("width").GetInt32());
        Assert.Equal(64, info.GetProperty("height").GetInt32());
        Assert.Equal(2, info.GetProperty("steps").GetInt32());
        Assert.Equal(7.0, info.GetProperty("cfg_scale").GetDouble());
        Assert.Equal(2, info.GetProperty("batch_size").GetInt32());
        Assert.Equal(Sampler, info.GetProperty("sampler_name").GetString());
        Assert.Equal("tiny/SdxlTurbo", info.GetProperty("sd_model_name").GetString());
        Assert.Equal(0, info.GetProperty("index_of_first_image").GetInt32());
        Assert.Matches("^[0-9]{14}$", info.GetProperty("job_timestamp").GetString());
        Assert.Equal(JsonValueKind.Null, info.GetProperty("denoising_strength").ValueKind);
        var ignored = info.GetProperty("turbogen_ignored");
        Assert.True(ignored.TryGetProperty("eta", out _));
        Assert.False(ignored.TryGetProperty("sampler_name", out _) && Sampler == "Euler a");

        var infotexts = info.GetProperty("infotexts").EnumerateArray().Select(t => t.GetString()!).ToList();
        Assert.Equal(4, infotexts.Count);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal((64, 64, "png"), ImageCodec.Probe(images[i]));
            Assert.Equal(infotexts[i], PngText.ReadTextChunks(images[i])[PngText.ParametersKey]);
            var fields = Infotext.Parse(infotexts[i]);
            Assert.Equal(1234 + i, fields.Seed);
            Assert.Equal(styled, fields.Prompt);
            Assert.Equal("ugly, out of frame", fields.NegativePrompt[..18]);
        }
        Assert.Equal(4, images.Select(Convert.ToHexString).Distinct().Count());

        var parameters = body.GetProperty("parameters");
        Assert.Equal("cute squirrel", parameters.GetProperty("prompt").GetString());
        Assert.Equal(1234, parameters.GetProperty("seed").GetInt64());
        Assert.Equal(2, parameters.GetProperty("n_iter").GetInt32());
        Assert.False(parameters.GetProperty("enable_hr").GetBoolean());
        Assert.Equal("Latent", parameters.GetProperty("hr_upscaler").GetString());
        Assert.True(parameters.GetProperty("send_images").GetBoolean());
        Assert.Equal(JsonValueKind.Object, parameters.GetProperty("alwayson_scripts").ValueKind);
    }

    [Fact]
    public async Task Txt2Img_SillyTavernBody_ReportsWhatTurboGenCannotHonour()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Body("sillytavern-txt2img.json"));
        Assert.Equal(200, status);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        Assert.Single(body.GetProperty("images").EnumerateArray());
        // enable_hr with hr_scale 1.5: the hires fix runs (64² → 96²); its "Latent" upscaler is replaced by Lanczos and reported.
        Assert.Equal((96, 96, "png"), ImageCodec.Probe(Convert.FromBase64String(body.GetProperty("images")[0].GetString()!)));
        Assert.Contains("Lanczos", info.GetProperty("turbogen_ignored").GetProperty("hr_upscaler").GetString());
        long seed = info.GetProperty("seed").GetInt64();
        Assert.InRange(seed, 0, 4294967294L);
        Assert.Equal(-1, body.GetProperty("parameters").GetProperty("seed").GetInt64()); // the echo keeps the request's -1
        var ignored = info.GetProperty("turbogen_ignored");
        foreach (string field in new[] { "sampler_name", "scheduler", "hr_upscaler", "override_settings.CLIP_stop_at_last_layers", "override_settings.sd_vae", "clip_skip", "hr_additional_modules", "negative_prompt" })
        {
            Assert.True(ignored.TryGetProperty(field, out var reason), $"{field} is not reported");
            Assert.False(string.IsNullOrWhiteSpace(reason.GetString()));
        }
        Assert.Contains("DPM++ 2M", ignored.GetProperty("sampler_name").GetString());
        Assert.False(body.GetProperty("parameters").TryGetProperty("clip_skip", out _)); // unknown fields are not echoed
        Assert.Single(Directory.GetFiles(fixture.Server.Options.OutputDir, $"*-{seed}-*.png")); // save_images: true
    }

    [Fact]
    public async Task Img2Img_WebuiapiBody_WithDataUrl_RunsImageToImage()
    {
        string init = "data:image/png;base64," + Convert.ToBase64String(Png(96, 64));
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/img2img", Body("webuiapi-img2img.json").Replace("__INIT_IMAGE__", init));
        Assert.Equal(200, status);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        byte[] png = Convert.FromBase64String(body.GetProperty("images")[0].GetString()!);
        Assert.Equal((64, 64, "png"), ImageCodec.Probe(png));
        Assert.Equal(0.5, info.GetProperty("denoising_strength").GetDouble(), 6);
        Assert.Equal(42, info.GetProperty("seed").GetInt64());
        Assert.Contains("Denoising strength: 0.5", info.GetProperty("infotexts")[0].GetString());
        var ignored = info.GetProperty("turbogen_ignored");
        Assert.True(ignored.TryGetProperty("image_cfg_scale", out _));
        Assert.True(ignored.TryGetProperty("resize_mode", out _)); // 96×64 into 64×64 is cropped, not stretched
        Assert.False(ignored.TryGetProperty("initial_noise_multiplier", out _)); // 1 is neutral
        var parameters = body.GetProperty("parameters");
        Assert.Equal(JsonValueKind.Null, parameters.GetProperty("init_images").ValueKind);
        Assert.False(parameters.TryGetProperty("include_init_images", out _));
        Assert.Equal(0.5, parameters.GetProperty("denoising_strength").GetDouble(), 6);
    }

    [Theory]
    [InlineData("""{"prompt": "x", "width": 100, "height": 64}""", "width")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 4096}""", "height")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "batch_size": 8, "n_iter": 4}""", "batch_size")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "steps": 0}""", "steps")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "cfg_scale": 99}""", "cfg_scale")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "steps": "many"}""", "steps")]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64, "seed": -5}""", "seed")]
    public async Task Txt2Img_InvalidField_Is422_NamingTheField(string json, string field)
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img", json);
        Assert.Equal(422, status);
        var detail = body.GetProperty("detail")[0];
        Assert.Equal(["body", field], detail.GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains(field, detail.GetProperty("msg").GetString());
        Assert.Equal("RequestValidationError", body.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("errors").GetString()));
    }

    [Theory]
    [InlineData("""{"prompt": "x", "width": 64, "height": 64}""", "init_images")]
    [InlineData("""{"prompt": "x", "init_images": ["bm90IGFuIGltYWdl"]}""", "init_images")]
    [InlineData("""{"prompt": "x", "init_images": ["http://example.com/a.png"]}""", "init_images")]
    [InlineData("""{"prompt": "x", "init_images": ["iVBORw0KGgo="], "width": 64, "height": 64}""", "init_images")]
    public async Task Img2Img_MissingOrBadInitImage_Is422(string json, string field)
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/img2img", json);
        Assert.Equal(422, status);
        Assert.Equal(field, body.GetProperty("detail")[0].GetProperty("loc")[1].GetString());
    }

    [Fact]
    public async Task OtherCheckpoint_Is404_InA1111ErrorShape()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img",
            """{"prompt": "x", "width": 64, "height": 64, "override_settings": {"sd_model_checkpoint": "v1-5-pruned-emaonly.safetensors [6ce0161689]"}}""");
        Assert.Equal(404, status);
        Assert.Equal("HTTPException", body.GetProperty("error").GetString());
        Assert.Contains("Model not found", body.GetProperty("detail").GetString());
        Assert.Equal("", body.GetProperty("body").GetString());
        Assert.StartsWith("404: ", body.GetProperty("errors").GetString());
    }

    [Fact]
    public async Task LoadedCheckpointByTitle_IsAccepted()
    {
        var (status, _, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img",
            """{"prompt": "x", "width": 64, "height": 64, "override_settings": {"sd_model_checkpoint": "tiny/SdxlTurbo"}}""");
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task ListEndpoints_DescribeTheLoadedModel()
    {
        var (_, models) = await GetJsonAsync(Http, "/sdapi/v1/sd-models");
        var model = Assert.Single(models.EnumerateArray());
        Assert.Equal("tiny/SdxlTurbo", model.GetProperty("title").GetString());
        Assert.Equal("SdxlTurbo", model.GetProperty("model_name").GetString());
        Assert.Equal("tiny/SdxlTurbo", model.GetProperty("filename").GetString()); // never a server path
        var (_, samplers) = await GetJsonAsync(Http, "/sdapi/v1/samplers");
        Assert.Equal(Sampler, Assert.Single(samplers.EnumerateArray()).GetProperty("name").GetString());
        var (_, options) = await GetJsonAsync(Http, "/sdapi/v1/options");
        Assert.Equal("tiny/SdxlTurbo", options.GetProperty("sd_model_checkpoint").GetString());
        var (_, styles) = await GetJsonAsync(Http, "/sdapi/v1/prompt-styles");
        Assert.Contains(styles.EnumerateArray(), s => s.GetProperty("name").GetString() == "vivid");
        Assert.Equal(200, (await PostJsonAsync(Http, "/sdapi/v1/options", """{"sd_model_checkpoint": "tiny/SdxlTurbo", "samples_format": "jpg"}""")).Status);
        Assert.Equal(422, (await PostJsonAsync(Http, "/sdapi/v1/options", """{"sd_model_checkpoint": "other.safetensors"}""")).Status);
    }

    [Fact]
    public async Task Progress_WhenIdle_IsZeroWithAnEmptyState()
    {
        var (status, body) = await GetJsonAsync(Http, "/sdapi/v1/progress?skip_current_image=true");
        Assert.Equal(200, status);
        Assert.Equal(0, body.GetProperty("progress").GetDouble());
        Assert.Equal(0, body.GetProperty("eta_relative").GetDouble());
        var state = body.GetProperty("state");
        Assert.Equal(0, state.GetProperty("job_count").GetInt32());
        Assert.False(state.GetProperty("interrupted").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("current_image").ValueKind);
        Assert.Equal(200, (await PostJsonAsync(Http, "/sdapi/v1/interrupt", "")).Status);
    }
}

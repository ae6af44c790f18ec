using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>
/// A tiny SDXL-Turbo server built with the UNet's ControlNet residual inputs, started with the tiny SDXL ControlNet (an ONNX folder)
/// and the tiny SD one (a diffusers folder, built at start; it is for the other family, so requests naming it are refused).
/// </summary>
public sealed class ControlNetServerFixture : IAsyncLifetime
{
    public const string Sdxl = "tiny/controlnet-canny-sdxl", Sd = "tiny-controlnet-canny-sd";

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(configure: o => o with
    {
        ModelPath = TinyModels.GetControlled(TinyFamily.SdxlTurbo),
        ControlNets = [new(Sdxl, TinyControlNets.Get(TinyFamily.SdxlTurbo)), new(Sd, TinyControlNets.Get(TinyFamily.SdTurbo, onnx: false))],
    });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>ControlNet through the real server: the A1111 ControlNet extension's request shape and endpoints, and the native API's <c>controls</c>.</summary>
public sealed class ControlNetApiTests(ControlNetServerFixture fixture) : IClassFixture<ControlNetServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    /// <summary>A checkerboard (strong edges for canny).</summary>
    private static string Checkerboard(int width = 64, int height = 64)
    {
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < width * height; i++)
        {
            byte v = (i % width / 8 + i / width / 8) % 2 == 0 ? (byte)240 : (byte)10;
            pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = v;
        }
        return Convert.ToBase64String(ImageCodec.EncodePng(new RgbImage(width, height, pixels)));
    }

    private static byte[] Pixels(JsonElement body) => ImageCodec.Decode(Convert.FromBase64String(body.GetProperty("images")[0].GetString()!)).Pixels;

    private static string Txt2Img(string units) => """{"prompt": "a cat", "width": 64, "height": 64, "seed": 5, "alwayson_scripts": {"controlnet": {"args": [""" + units + "]}}}";

    private static string Unit(string extra = "") =>
        $$"""{"enabled": true, "image": "{{Checkerboard()}}", "module": "canny", "model": "{{ControlNetServerFixture.Sdxl}}"{{extra}}}""";

    private static JsonElement Ignored(JsonElement body) => JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement.GetProperty("turbogen_ignored").Clone();

    [Fact]
    public async Task ModelList_ListsTheControlNetsThatFitTheModel_AndModuleListTheirPreprocessors()
    {
        var (status, body) = await GetJsonAsync(Http, "/controlnet/model_list?update=true");
        Assert.Equal(200, status);
        Assert.Equal([ControlNetServerFixture.Sdxl], body.GetProperty("model_list").EnumerateArray().Select(m => m.GetString()));

        (status, body) = await GetJsonAsync(Http, "/controlnet/module_list");
        Assert.Equal(200, status);
        Assert.Equal(["none", "canny", "invert", "scribble", "lineart"], body.GetProperty("module_list").EnumerateArray().Select(m => m.GetString()));
        var canny = body.GetProperty("module_detail").GetProperty("canny").GetProperty("sliders");
        Assert.Equal([512.0, 100, 200], canny.EnumerateArray().Select(s => s.GetProperty("value").GetDouble()));

        (status, body) = await GetJsonAsync(Http, "/controlnet/module_list?alias_names=true");
        Assert.Contains("invert (from white bg & black line)", body.GetProperty("module_list").EnumerateArray().Select(m => m.GetString()));
        (status, body) = await GetJsonAsync(Http, "/controlnet/version");
        Assert.Equal(2, body.GetProperty("version").GetInt32());

        (status, body) = await GetJsonAsync(Http, "/api/info");
        Assert.Equal([ControlNetServerFixture.Sdxl], body.GetProperty("model").GetProperty("controlnets").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task Detect_ReturnsTheDetectedMaps_AtTheProcessorResolution()
    {
        string body = $$"""{"controlnet_module": "canny", "controlnet_input_images": ["{{Checkerboard(96, 64)}}"], "controlnet_processor_res": 128, "controlnet_threshold_a": 50, "controlnet_threshold_b": 150}""";
        var (status, json, _) = await PostJsonAsync(Http, "/controlnet/detect", body);
        Assert.True(status == 200, json.ToString());
        Assert.Equal("Success", json.GetProperty("info").GetString());
        var map = ImageCodec.Decode(Convert.FromBase64String(json.GetProperty("images")[0].GetString()!));
        Assert.Equal((192, 128), (map.Width, map.Height));
        Assert.Equal([0, 255], map.Pixels.Distinct().Order().Select(b => (int)b));   // edges: white on black

        (status, json, _) = await PostJsonAsync(Http, "/controlnet/detect", """{"controlnet_module": "openpose", "controlnet_input_images": ["x"]}""");
        Assert.Equal(422, status);
        Assert.Equal(["body", "controlnet_module"], json.GetProperty("detail")[0].GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
        (status, json, _) = await PostJsonAsync(Http, "/controlnet/detect",
            $$"""{"controlnet_module": "canny", "controlnet_input_images": ["{{Checkerboard(16, 16)}}"], "controlnet_threshold_a": "low"}""");
        Assert.Equal(422, status);
        Assert.Equal(["body", "controlnet_threshold_a"], json.GetProperty("detail")[0].GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Txt2Img_ControlNetUnit_SteersTheImage_AndWeightZeroOrDisabledDoesNot()
    {
        var plain = await PostJsonAsync(Http, "/sdapi/v1/txt2img", """{"prompt": "a cat", "width": 64, "height": 64, "seed": 5}""");
        var steered = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Txt2Img(Unit()));
        var zero = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Txt2Img(Unit(""", "weight": 0""")));
        var disabled = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Txt2Img(Unit().Replace("\"enabled\": true", "\"enabled\": false")));
        foreach (var r in new[] { plain, steered, zero, disabled }) Assert.True(r.Status == 200, r.Body.ToString());
        Assert.NotEqual(Pixels(plain.Body), Pixels(steered.Body));
        Assert.Equal(Pixels(plain.Body), Pixels(zero.Body));
        Assert.Equal(Pixels(plain.Body), Pixels(disabled.Body));
        Assert.False(Ignored(steered.Body).TryGetProperty("alwayson_scripts", out _));
        string infotext = JsonDocument.Parse(steered.Body.GetProperty("info").GetString()!).RootElement.GetProperty("extra_generation_params").GetProperty("ControlNet 0").GetString()!;
        Assert.Equal($"Module: canny, Model: {ControlNetServerFixture.Sdxl}, Weight: 1, Resize Mode: Crop and Resize, Processor Res: 512, Threshold A: 100, Threshold B: 200, " +
            "Guidance Start: 0, Guidance End: 1, Control Mode: Balanced", infotext);
        // The PNG's infotext carries the same unit description as info (one source: the front end's fields over the request's).
        var png = Imaging.PngText.ReadTextChunks(Convert.FromBase64String(steered.Body.GetProperty("images")[0].GetString()!));
        Assert.Equal(infotext, Imaging.Infotext.Parse(png[Imaging.PngText.ParametersKey]).Extra["ControlNet 0"]);

        // The extension's other spellings: input_image, the model with an A1111 hash, a string resize mode, thresholds.
        var alias = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Txt2Img(
            $$"""{"input_image": "{{Checkerboard(96, 64)}}", "module": "canny", "model": "controlnet-canny-sdxl [abc123]", "resize_mode": "Resize and Fill", "threshold_a": 50, "threshold_b": 150, "guidance_start": 0, "guidance_end": 1, "control_mode": 2, "low_vram": true}"""));
        Assert.True(alias.Status == 200, alias.Body.ToString());
        Assert.NotEqual(Pixels(plain.Body), Pixels(alias.Body));
        Assert.Equal("only the Balanced control mode is available", Ignored(alias.Body).GetProperty("alwayson_scripts.controlnet.args[0].control_mode").GetString());
    }

    [Fact]
    public async Task Img2Img_UnitWithoutImage_UsesTheInitImage()
    {
        string init = Checkerboard();
        var plain = await PostJsonAsync(Http, "/sdapi/v1/img2img", $$"""{"prompt": "a cat", "init_images": ["{{init}}"], "width": 64, "height": 64, "seed": 2}""");
        var steered = await PostJsonAsync(Http, "/sdapi/v1/img2img",
            $$"""{"prompt": "a cat", "init_images": ["{{init}}"], "width": 64, "height": 64, "seed": 2, "alwayson_scripts": {"ControlNet": {"args": [{"enabled": true, "module": "invert (from white bg & black line)", "model": "{{ControlNetServerFixture.Sdxl}}"}]""" + "}}}");
        Assert.True(plain.Status == 200, plain.Body.ToString());
        Assert.True(steered.Status == 200, steered.Body.ToString());
        Assert.NotEqual(Pixels(plain.Body), Pixels(steered.Body));
    }

    [Theory]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "sobel", "model": "SDXL"}""", "alwayson_scripts.controlnet.args[0].module")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "control_v11p_sd15_canny"}""", "alwayson_scripts.controlnet.args[0].model")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "SD"}""", "alwayson_scripts.controlnet.args[0].model")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny"}""", "alwayson_scripts.controlnet.args[0].model")]
    [InlineData("""{"enabled": true, "image": "not base64!", "module": "canny", "model": "SDXL"}""", "alwayson_scripts.controlnet.args[0].image")]
    [InlineData("""{"enabled": true, "input_image": "HUGE", "module": "canny", "model": "SDXL"}""", "alwayson_scripts.controlnet.args[0].input_image")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "SDXL", "weight": 2.5}""", "alwayson_scripts.controlnet.args[0].weight")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "SDXL", "weight": "heavy"}""", "alwayson_scripts.controlnet.args[0].weight")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "SDXL", "guidance_start": 0.8, "guidance_end": 0.2}""", "alwayson_scripts.controlnet.args[0].guidance_end")]
    [InlineData("""{"enabled": true, "image": "IMG", "module": "canny", "model": "SDXL", "resize_mode": 7}""", "alwayson_scripts.controlnet.args[0].resize_mode")]
    [InlineData("""{"enabled": true, "module": "canny", "model": "SDXL"}""", "alwayson_scripts.controlnet.args[0].image")]
    [InlineData("""{"enabled": false}, "not a unit" """, "alwayson_scripts.controlnet.args[1]")]
    public async Task Txt2Img_BadUnit_Is422_NamingTheField(string unit, string field)
    {
        unit = unit.Replace("IMG", Checkerboard(16, 16)).Replace("HUGE", Convert.ToBase64String(HugePngHeader(20000, 20000)))
            .Replace("\"SDXL\"", $"\"{ControlNetServerFixture.Sdxl}\"").Replace("\"SD\"", $"\"{ControlNetServerFixture.Sd}\"");
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img", Txt2Img(unit));
        Assert.Equal(422, status);
        var detail = body.GetProperty("detail")[0];
        Assert.Equal(["body", field], detail.GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
        if (unit.Contains(ControlNetServerFixture.Sd + "\"", StringComparison.Ordinal))
        {
            Assert.Contains("SDXL", detail.GetProperty("msg").GetString()); // names the families
        }
    }

    [Fact]
    public async Task Native_Controls_SteerTheImage()
    {
        string Request(string controls) => $$"""{"prompt": "a cat", "width": 64, "height": 64, "seed": 9, "output_format": "png", "controls": [{{controls}}]}""";
        var plain = await PostJsonAsync(Http, "/api/generate", Request(""));
        var steered = await PostJsonAsync(Http, "/api/generate",
            Request($$"""{"image": "{{Checkerboard(80, 64)}}", "preprocessor": "canny", "model": "{{ControlNetServerFixture.Sdxl}}", "scale": 1.5, "start": 0, "end": 1, "resize": "crop"}"""));
        Assert.True(plain.Status == 200, plain.Body.ToString());
        Assert.True(steered.Status == 200, steered.Body.ToString());
        string Data(JsonElement body) => body.GetProperty("images")[0].GetProperty("data").GetString()!;
        Assert.NotEqual(Data(plain.Body), Data(steered.Body));
        Assert.Contains(steered.Body.GetProperty("timings").GetProperty("stages").EnumerateArray(), s => s.GetProperty("stage").GetString() == "controlnet0.step0");

        // A guidance window: with 2 steps and end 0.5 the ControlNet runs at step 0 only.
        string TwoSteps(string window) => $$"""{"prompt": "a cat", "width": 64, "height": 64, "seed": 9, "steps": 2, "controls": [{"image": "{{Checkerboard()}}", "preprocessor": "canny", "model": "{{ControlNetServerFixture.Sdxl}}" """
            + window + "}]}";
        var full = await PostJsonAsync(Http, "/api/generate", TwoSteps(""));
        var half = await PostJsonAsync(Http, "/api/generate", TwoSteps(", \"end\": 0.5"));
        Assert.True(half.Status == 200, half.Body.ToString());
        var stages = half.Body.GetProperty("timings").GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()).ToList();
        Assert.Contains("controlnet0.step0", stages);
        Assert.DoesNotContain("controlnet0.step1", stages);
        Assert.Contains("controlnet0.step1", full.Body.GetProperty("timings").GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
        Assert.NotEqual(Data(full.Body), Data(half.Body));
    }

    [Theory]
    [InlineData("""{"image": "IMG", "preprocessor": "depth", "model": "SDXL"}""", "controls[0].preprocessor")]
    [InlineData("""{"image": "IMG", "model": "nope"}""", "controls[0].model")]
    [InlineData("""{"image": "IMG", "model": "SD"}""", "controls[0].model")]
    [InlineData("""{"image": "%%%", "model": "SDXL"}""", "controls[0].image")]
    [InlineData("""{"model": "SDXL"}""", "controls[0].image")]
    [InlineData("""{"image": "IMG", "model": "SDXL", "scale": 6}""", "controls[0].scale")]
    [InlineData("""{"image": "IMG", "model": "SDXL", "start": 0.5, "end": 0.5}""", "controls[0].end")]
    [InlineData("""{"image": "IMG", "model": "SDXL", "resize": "squash"}""", "controls[0].resize")]
    [InlineData("""{"image": "IMG", "model": "SDXL", "preprocessor": "canny", "low_threshold": 300}""", "controls[0].low_threshold")]
    public async Task Native_BadControl_Is400_NamingTheField(string control, string field)
    {
        control = control.Replace("IMG", Checkerboard(16, 16)).Replace("\"SDXL\"", $"\"{ControlNetServerFixture.Sdxl}\"").Replace("\"SD\"", $"\"{ControlNetServerFixture.Sd}\"");
        var (status, body, _) = await PostJsonAsync(Http, "/api/generate", $$"""{"prompt": "a cat", "width": 64, "height": 64, "controls": [{{control}}]}""");
        Assert.Equal(400, status);
        Assert.Equal(field, body.GetProperty("error").GetProperty("param").GetString());
    }
}

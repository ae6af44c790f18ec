using System.Net.Http.Json;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Server.Policy;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>A tiny-model server with the tiny ESRGAN (as an ONNX file) loaded as an upscaler.</summary>
public sealed class UpscalerServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync(configure: o => o with { UpscalerPaths = [TinyEsrgan.GetOnnx(4)] });

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Upscaling through the real server: A1111's upscalers / extra-single-image / txt2img hires fix, and the native API.</summary>
public sealed class UpscaleApiTests(UpscalerServerFixture fixture) : IClassFixture<UpscalerServerFixture>
{
    private const string Esrgan = "RealESRGAN_x4plus_tiny";
    private HttpClient Http => fixture.Server.Http;

    private static string B64(int w, int h) => Convert.ToBase64String(Png(w, h));

    private static RgbImage Decode(JsonElement b64) => ImageCodec.Decode(Convert.FromBase64String(b64.GetString()!));

    [Fact]
    public async Task A1111Upscalers_ListNoneLanczosAndTheLoadedModel()
    {
        var (status, body) = await GetJsonAsync(Http, "/sdapi/v1/upscalers");
        Assert.Equal(200, status);
        var names = body.EnumerateArray().Select(u => u.GetProperty("name").GetString()).ToList();
        Assert.Equal(["None", "Lanczos", Esrgan], names);
        var esrgan = body.EnumerateArray().Single(u => u.GetProperty("name").GetString() == Esrgan);
        Assert.Equal(4, esrgan.GetProperty("scale").GetSingle());
        Assert.Equal(JsonValueKind.Null, esrgan.GetProperty("model_path").ValueKind); // no server paths
    }

    [Theory]
    [InlineData(Esrgan)]
    [InlineData("Lanczos")]
    [InlineData("None")]
    public async Task ExtraSingleImage_ByFactor_AndToASize(string upscaler)
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/extra-single-image",
            $$"""{"image": "{{B64(32, 24)}}", "upscaler_1": "{{upscaler}}", "upscaling_resize": 4}""");
        Assert.True(status == 200, body.ToString());
        var image = Decode(body.GetProperty("image"));
        Assert.Equal((128, 96), (image.Width, image.Height));
        Assert.Contains(upscaler == "None" ? "Lanczos" : upscaler, body.GetProperty("html_info").GetString());

        (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/extra-single-image",
            $$"""{"image": "{{B64(32, 24)}}", "upscaler_1": "{{upscaler}}", "resize_mode": 1, "upscaling_resize_w": 100, "upscaling_resize_h": 40}""");
        Assert.True(status == 200, body.ToString());
        image = Decode(body.GetProperty("image"));
        Assert.Equal((100, 40), (image.Width, image.Height));
    }

    [Fact]
    public async Task ExtraSingleImage_EsrganDiffersFromLanczos()
    {
        var a = await PostJsonAsync(Http, "/sdapi/v1/extra-single-image", $$"""{"image": "{{B64(32, 24)}}", "upscaler_1": "{{Esrgan}}", "upscaling_resize": 2}""");
        var b = await PostJsonAsync(Http, "/sdapi/v1/extra-single-image", $$"""{"image": "{{B64(32, 24)}}", "upscaler_1": "Lanczos", "upscaling_resize": 2}""");
        Assert.NotEqual(Decode(a.Body.GetProperty("image")).Pixels, Decode(b.Body.GetProperty("image")).Pixels);
    }

    [Theory]
    [InlineData("""{"image": "IMG", "upscaler_1": "4x-UltraSharp"}""", "upscaler_1")]
    [InlineData("""{"image": "IMG", "upscaling_resize": 8}""", "upscaling_resize")]
    [InlineData("""{"image": "IMG", "resize_mode": 2}""", "resize_mode")]
    [InlineData("""{"image": "IMG", "gfpgan_visibility": 0.5}""", "gfpgan_visibility")]
    [InlineData("""{"image": "HUGE"}""", "image")]
    [InlineData("""{"image": "not base64!"}""", "image")]
    public async Task ExtraSingleImage_BadInput_Is422_NamingTheField(string json, string field)
    {
        json = json.Replace("IMG", B64(16, 16)).Replace("HUGE", Convert.ToBase64String(HugePngHeader(20000, 20000)));
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/extra-single-image", json);
        Assert.Equal(422, status);
        var detail = body.GetProperty("detail")[0];
        Assert.Equal(["body", field], detail.GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Txt2Img_EnableHr_UpscalesAndRefines_AndReportsIt()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img",
            $$"""{"prompt": "a cat", "width": 64, "height": 64, "seed": 3, "enable_hr": true, "hr_scale": 2, "hr_upscaler": "{{Esrgan}}", "hr_second_pass_steps": 1, "denoising_strength": 0.3}""");
        Assert.True(status == 200, body.ToString());
        var image = Decode(body.GetProperty("images")[0]);
        Assert.Equal((128, 128), (image.Width, image.Height));
        using var info = JsonDocument.Parse(body.GetProperty("info").GetString()!);
        var extra = info.RootElement.GetProperty("extra_generation_params");
        Assert.Equal(Esrgan, extra.GetProperty("Hires upscaler").GetString());
        // The PNG's infotext has the hires fields too, the pass's strength as A1111's "Denoising strength".
        var png = Imaging.Infotext.Parse(Imaging.PngText.ReadTextChunks(Convert.FromBase64String(body.GetProperty("images")[0].GetString()!))[Imaging.PngText.ParametersKey]);
        Assert.Equal(Esrgan, png.Extra["Hires upscaler"]);
        Assert.Equal("2", png.Extra["Hires upscale"]);
        Assert.Equal(0.3f, png.DenoisingStrength);
        Assert.False(info.RootElement.GetProperty("turbogen_ignored").TryGetProperty("enable_hr", out _));

        var plain = await PostJsonAsync(Http, "/sdapi/v1/txt2img", """{"prompt": "a cat", "width": 64, "height": 64, "seed": 3}""");
        Assert.Equal((64, 64), (Decode(plain.Body.GetProperty("images")[0]).Width, Decode(plain.Body.GetProperty("images")[0]).Height));

        var resized = await PostJsonAsync(Http, "/sdapi/v1/txt2img",
            """{"prompt": "a cat", "width": 64, "height": 64, "seed": 3, "enable_hr": true, "hr_resize_x": 96, "hr_upscaler": "Lanczos"}""");
        Assert.True(resized.Status == 200, resized.Body.ToString());
        var r = Decode(resized.Body.GetProperty("images")[0]);
        Assert.Equal((96, 96), (r.Width, r.Height));
    }

    [Theory]
    [InlineData("""{"hr_upscaler": "4x-UltraSharp"}""", "hr_upscaler")]
    [InlineData("""{"hr_scale": 9}""", "hr_scale")]
    [InlineData("""{"hr_resize_x": 5000}""", "hr_resize_x")]
    [InlineData("""{"denoising_strength": 0}""", "denoising_strength")]
    public async Task Txt2Img_BadHiresField_Is422(string extra, string field)
    {
        string json = """{"prompt": "x", "width": 64, "height": 64, "enable_hr": true, """ + extra[1..];
        var (status, body, _) = await PostJsonAsync(Http, "/sdapi/v1/txt2img", json);
        Assert.Equal(422, status);
        Assert.Equal(["body", field], body.GetProperty("detail")[0].GetProperty("loc").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Native_UpscaleWithRefine_AndTheUpscalerList()
    {
        var (status, list) = await GetJsonAsync(Http, "/api/upscalers");
        Assert.Equal(200, status);
        Assert.Equal(["Lanczos", Esrgan], list.EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        Assert.True(list[1].GetProperty("default").GetBoolean());

        var (s, body, _) = await PostJsonAsync(Http, "/api/upscale", $$"""{"image": "{{B64(40, 40)}}", "scale": 2}""");
        Assert.True(s == 200, body.ToString());
        Assert.Equal(Esrgan, body.GetProperty("upscaler").GetString());
        var plain = Decode(body.GetProperty("b64_json"));
        Assert.Equal((80, 80), (plain.Width, plain.Height));

        (s, body, _) = await PostJsonAsync(Http, "/api/upscale", $$$"""{"image": "{{{B64(40, 40)}}}", "scale": 2, "refine": {"prompt": "a cat", "seed": 1}}""");
        Assert.True(s == 200, body.ToString());
        Assert.True(body.GetProperty("refined").GetBoolean());
        var refined = Decode(body.GetProperty("b64_json"));
        Assert.Equal((80, 80), (refined.Width, refined.Height));
        Assert.NotEqual(plain.Pixels, refined.Pixels);

        (s, body, _) = await PostJsonAsync(Http, "/api/upscale", $$"""{"image": "{{B64(16, 16)}}", "upscaler": "nope"}""");
        Assert.Equal(400, s);
        Assert.Equal("upscaler", body.GetProperty("error").GetProperty("param").GetString());
        (s, body, _) = await PostJsonAsync(Http, "/api/upscale", $$"""{"image": "{{Convert.ToBase64String(HugePngHeader(20000, 20000))}}"}""");
        Assert.Equal(400, s);
        Assert.Equal("image", body.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Native_UpscaleSave_KeepsThePngInTheCallersHistory_MarkedAsAnUpscaleOfItsSourceSize()
    {
        string client = "upscaler-" + Guid.NewGuid().ToString("N"), other = "other-" + Guid.NewGuid().ToString("N");
        async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.TryAddWithoutValidation(HistoryOwner.HeaderName, client);
            if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            using var response = await Http.SendAsync(request);
            return ((int)response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
        }

        // Without save nothing is kept and the answer is as before (no saved_as).
        var (s, body) = await SendAsync(HttpMethod.Post, "/api/upscale", $$"""{"image": "{{B64(40, 30)}}", "scale": 2}""");
        Assert.True(s == 200, body.ToString());
        Assert.False(body.TryGetProperty("saved_as", out _));
        Assert.Equal(0, (await SendAsync(HttpMethod.Get, "/api/history")).Body.GetArrayLength());

        (s, body) = await SendAsync(HttpMethod.Post, "/api/upscale", $$"""{"image": "{{B64(40, 30)}}", "scale": 2, "save": true}""");
        Assert.True(s == 200, body.ToString());
        string file = body.GetProperty("saved_as").GetString()!;
        Assert.Matches(OutputWriter.FileNamePattern, file);
        var answered = Decode(body.GetProperty("b64_json"));

        var (_, list) = await SendAsync(HttpMethod.Get, "/api/history");
        var entry = Assert.Single(list.EnumerateArray());
        Assert.Equal(file, entry.GetProperty("file").GetString());
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("parameters").ValueKind);
        var upscale = entry.GetProperty("upscale");
        Assert.Equal(Esrgan, upscale.GetProperty("upscaler").GetString());
        Assert.Equal((80, 60, 40, 30), (upscale.GetProperty("width").GetInt32(), upscale.GetProperty("height").GetInt32(),
            upscale.GetProperty("sourceWidth").GetInt32(), upscale.GetProperty("sourceHeight").GetInt32()));
        Assert.False(upscale.GetProperty("refined").GetBoolean());
        Assert.Contains("Source size: 40x30", entry.GetProperty("infotext").GetString());

        // The kept PNG is the picture answered, and only its owner sees it.
        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/history/" + file);
        get.Headers.TryAddWithoutValidation(HistoryOwner.HeaderName, client);
        using var png = await Http.SendAsync(get);
        Assert.Equal(System.Net.HttpStatusCode.OK, png.StatusCode);
        Assert.Equal(answered.Pixels, ImageCodec.Decode(await png.Content.ReadAsByteArrayAsync()).Pixels);
        client = other;
        Assert.Equal(0, (await SendAsync(HttpMethod.Get, "/api/history")).Body.GetArrayLength());
    }
}

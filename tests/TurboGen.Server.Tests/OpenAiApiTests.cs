using System.Net;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Server.Api;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>OpenAI images API at the HTTP level: parameter mapping, limits and error objects.</summary>
public sealed class OpenAiApiTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task Generate_MapsQualityStyleAndFormat_AndEchoesThem()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/v1/images/generations",
            """{"model": "gpt-image-1", "prompt": "a lighthouse", "size": "64x128", "quality": "hd", "style": "natural", "output_format": "jpeg", "output_compression": 80, "n": 2, "user": "u1", "unknown_field": {"x": 1}}""");
        Assert.Equal(200, status);
        Assert.True(body.GetProperty("created").GetInt64() > 1_700_000_000);
        Assert.Equal("jpeg", body.GetProperty("output_format").GetString());
        Assert.Equal("64x128", body.GetProperty("size").GetString());
        Assert.Equal("hd", body.GetProperty("quality").GetString());
        var data = body.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        foreach (var item in data.EnumerateArray())
        {
            Assert.Equal((64, 128, "jpeg"), ImageCodec.Probe(Convert.FromBase64String(item.GetProperty("b64_json").GetString()!)));
            Assert.StartsWith("a lighthouse, natural lighting", item.GetProperty("revised_prompt").GetString());
            Assert.False(item.TryGetProperty("url", out _));
        }
    }

    [Fact]
    public async Task Generate_QualityHigh_RunsFourSteps_AndNoStyleMeansNoRevisedPrompt()
    {
        var (_, body, _) = await PostJsonAsync(Http, "/v1/images/generations", """{"prompt": "p", "size": "64x64", "quality": "high", "seed": 5}""");
        var item = body.GetProperty("data")[0];
        Assert.False(item.TryGetProperty("revised_prompt", out _));
        var infotext = Infotext.Parse(PngText.ReadTextChunks(Convert.FromBase64String(item.GetProperty("b64_json").GetString()!))[PngText.ParametersKey]);
        Assert.Equal(4, infotext.Steps);
        Assert.Equal(5, infotext.Seed);
    }

    [Fact]
    public async Task DallE3_DefaultsToUrl_AndAutoSizeIsTheModelsNativeSize()
    {
        var (status, body, _) = await PostJsonAsync(Http, "/v1/images/generations", """{"model": "dall-e-3", "prompt": "p", "size": "auto"}""");
        Assert.Equal(200, status);
        string url = body.GetProperty("data")[0].GetProperty("url").GetString()!;
        int native = fixture.Server.Host.Service!.Model.DefaultSize;
        Assert.Equal((native, native, "png"), ImageCodec.Probe(await Http.GetByteArrayAsync(url)));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/v1/files/images/0123456789abcdef0123456789abcdef.png")).StatusCode);
    }

    [Theory]
    [InlineData("""{"prompt": "x", "n": 11, "size": "64x64"}""", "n")]
    [InlineData("""{"prompt": "x", "n": 0, "size": "64x64"}""", "n")]
    [InlineData("""{"prompt": "x", "size": "4096x4096"}""", "size")]
    [InlineData("""{"prompt": "x", "size": "big"}""", "size")]
    [InlineData("""{"prompt": "x", "size": "64x64", "quality": "ultra"}""", "quality")]
    [InlineData("""{"prompt": "x", "size": "64x64", "style": "baroque"}""", "style")]
    [InlineData("""{"prompt": "x", "size": "64x64", "response_format": "png"}""", "response_format")]
    [InlineData("""{"prompt": "x", "size": "64x64", "output_format": "gif"}""", "output_format")]
    [InlineData("""{"prompt": "x", "size": "64x64", "output_compression": 101}""", "output_compression")]
    [InlineData("""{"prompt": "x", "size": "64x64", "background": "transparent"}""", "background")]
    [InlineData("""{"size": "64x64"}""", "prompt")]
    [InlineData("""{"prompt": "x", "n": "two"}""", "n")]
    public async Task InvalidField_Is400_InvalidRequestError_NamingTheField(string json, string field)
    {
        var (status, body, _) = await PostJsonAsync(Http, "/v1/images/generations", json);
        Assert.Equal(400, status);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Edit_WithAMaskWithoutTransparentPixels_Is400_AndEditAutoSizeKeepsTheAspectRatio()
    {
        using var masked = new MultipartFormDataContent
        {
            { new StringContent("x"), "prompt" },
            { new ByteArrayContent(Png(64, 64)), "image", "a.png" },
            { new ByteArrayContent(Png(64, 64)), "mask", "m.png" },
        };
        var response = await Http.PostAsync("/v1/images/edits", masked);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("mask", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());

        using var form = new MultipartFormDataContent
        {
            { new StringContent("x"), "prompt" },
            { new ByteArrayContent(Png(128, 64)), "image[]", "a.png" },
            { new StringContent("0.8"), "strength" },
            { new StringContent("b64_json"), "response_format" },
        };
        var edit = await Http.PostAsync("/v1/images/edits", form);
        Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        var b64 = JsonDocument.Parse(await edit.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!;
        var (w, h, _) = ImageCodec.Probe(Convert.FromBase64String(b64));
        int native = fixture.Server.Host.Service!.Model.DefaultSize;
        Assert.Equal(2.0, (double)w / h, 1);
        Assert.InRange((double)w * h, 0.9 * native * native, 1.1 * native * native);
    }

    [Fact]
    public async Task Models_ListsTheLoadedModel_AndAliasesResolve()
    {
        var (status, body) = await GetJsonAsync(Http, "/v1/models");
        Assert.Equal(200, status);
        Assert.Equal("list", body.GetProperty("object").GetString());
        // The id first, then the other names it answers to (short name, folder name).
        var model = body.GetProperty("data").EnumerateArray().First();
        Assert.Equal("tiny/SdxlTurbo", model.GetProperty("id").GetString());
        Assert.Contains(body.GetProperty("data").EnumerateArray(), m => m.GetProperty("id").GetString() == "SdxlTurbo");
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal(200, (await GetJsonAsync(Http, "/v1/models/tiny/SdxlTurbo")).Status);
        Assert.Equal(200, (await GetJsonAsync(Http, "/v1/models/dall-e-3")).Status);
        var (missing, error) = await GetJsonAsync(Http, "/v1/models/whisper-1");
        Assert.Equal(404, missing);
        Assert.Equal("model_not_found", error.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task QueueFull_Is429_WithRetryAfter()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { QueueCapacity = 0 });
        var (status, body, response) = await PostJsonAsync(server.Http, "/v1/images/generations", """{"prompt": "x", "size": "64x64"}""");
        Assert.Equal(429, status);
        Assert.Equal("rate_limit_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void ImageStore_ExpiresAndEvicts()
    {
        var clock = new ManualClock();
        var store = new ImageStore(TimeSpan.FromMinutes(60), maxImages: 2, clock: clock);
        string a = store.Add([1], "image/png", "png");
        string b = store.Add([2], "image/png", "png");
        Assert.Matches("^[0-9a-f]{32}\\.png$", a);
        Assert.Equal([1], store.Get(a)!.Data);
        string c = store.Add([3], "image/png", "png");
        Assert.Null(store.Get(a)); // evicted: at most 2 images
        Assert.NotNull(store.Get(b));
        clock.Now += TimeSpan.FromMinutes(61);
        Assert.Null(store.Get(b));
        Assert.Null(store.Get(c));
        Assert.Equal(0, store.Count);
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}

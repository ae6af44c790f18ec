using System.Net;
using System.Text.Json;
using TurboGen.Server.Policy;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Issue 14.9: the served model answers to its Hub id, short name and folder name, or exactly to --served-model-name.</summary>
public sealed class ModelNamesTests
{
    [Fact]
    public void Default_IdHubIdShortNamesAndFolder_IdFirst()
    {
        var options = new ServerOptions { ModelPath = "/cache/hub/models--stabilityai--sdxl-turbo/snapshots/0123abcd", ModelId = "my-folder-name" };
        Assert.Equal(["my-folder-name", "stabilityai/sdxl-turbo", "sdxl-turbo", "0123abcd"], ModelNames.For(options));

        var hub = new ServerOptions { ModelPath = "/models/built-7f3e", ModelId = "stabilityai/sd-turbo" };
        Assert.Equal(["stabilityai/sd-turbo", "sd-turbo", "built-7f3e"], ModelNames.For(hub));
    }

    [Fact]
    public void ServedModelNames_AreExactlyTheNames_AndMatchIgnoresCaseSpacesAndA1111Hash()
    {
        var options = new ServerOptions { ModelPath = "/m/x", ModelId = "stabilityai/sdxl-turbo", ServedModelNames = ["turbo", " fast ", "TURBO"] };
        var names = ModelNames.For(options);
        Assert.Equal(["turbo", "fast"], names);
        Assert.True(ModelNames.Matches(" Turbo ", names));
        Assert.True(ModelNames.Matches("fast [abc123]", names));
        Assert.False(ModelNames.Matches("sdxl-turbo", names));
        Assert.False(ModelNames.Matches("", names));
    }

    [Fact]
    public async Task Server_AnswersToEveryAlias_OnV1ModelsAndInRequests()
    {
        // The tiny model lives in a folder with a random name; clients configured for the Hub id or short name still work.
        await using var server = await TestServer.StartAsync(configure: o => o with { ModelId = "stabilityai/sdxl-turbo" });
        var (status, list) = await GetJsonAsync(server.Http, "/v1/models");
        Assert.Equal(200, status);
        var ids = list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal("stabilityai/sdxl-turbo", ids[0]);
        Assert.Contains("sdxl-turbo", ids);
        Assert.Contains(new DirectoryInfo(server.Options.ModelPath).Name, ids);

        foreach (string name in new[] { "sdxl-turbo", "stabilityai/sdxl-turbo", new DirectoryInfo(server.Options.ModelPath).Name })
        {
            Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v1/models/" + name)).StatusCode);
            var (s, _, _) = await PostJsonAsync(server.Http, "/v1/images/generations", JsonSerializer.Serialize(new { prompt = "a cat", model = name, size = "64x64" }));
            Assert.Equal(200, s);
            var (a, _, _) = await PostJsonAsync(server.Http, "/sdapi/v1/txt2img",
                JsonSerializer.Serialize(new { prompt = "a cat", width = 64, height = 64, override_settings = new { sd_model_checkpoint = name } }));
            Assert.Equal(200, a);
        }
        var (missing, body, _) = await PostJsonAsync(server.Http, "/v1/images/generations", """{"prompt":"a cat","model":"other-model","size":"64x64"}""");
        Assert.Equal(404, missing);
        Assert.Equal("model_not_found", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Server_WithServedModelNames_AnswersOnlyToThem()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { ServedModelNames = ["turbo", "fast"] });
        var (_, list) = await GetJsonAsync(server.Http, "/v1/models");
        Assert.Equal(["turbo", "fast"], list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync("/v1/models/tiny/SdxlTurbo")).StatusCode);
        var (_, health) = await GetJsonAsync(server.Http, "/health");
        Assert.Equal("turbo", health.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("127.0.0.1", "http://127.0.0.1:7860")]
    [InlineData("::", "http://[::]:7860")]
    [InlineData("::1", "http://[::1]:7860")]
    [InlineData("[::1]", "http://[::1]:7860")]
    [InlineData("0.0.0.0", "http://0.0.0.0:7860")]
    [InlineData("localhost", "http://localhost:7860")]
    public void ListenUrl_PutsIpv6InBrackets(string host, string url) =>
        Assert.Equal(url, new ServerOptions { ModelPath = ".", Host = host }.ListenUrl);

    [Fact]
    public void NonLoopbackWithoutKey_IsRefusedBeforeBuilding()
    {
        var options = new ServerOptions { ModelPath = TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew), Host = "::", Port = 0 };
        var e = Assert.Throws<InvalidRequestException>(() => options.Validate(null));
        Assert.Equal("api_key", e.Parameter);
        options.Validate("key"); // with a key it may start
    }
}

using System.Net.WebSockets;
using System.Text;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.Reliability.ErrorShapes;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Regression tests for what the fuzzers found (each was a 500 or a dropped WebSocket session).</summary>
public sealed class FuzzFindingsTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    /// <summary>1e400 reads as infinity; A1111 echoed it and failed writing the response (500). Now 4xx naming the field.</summary>
    [Theory]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"a","width":64,"height":64,"cfg_scale":1e400}""", "cfg_scale")]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"a","width":64,"height":64,"eta":"-Infinity"}""", "eta")]
    [InlineData("/api/generate", """{"prompt":"a","width":64,"height":64,"guidance_scale":-1e999}""", "guidance_scale")]
    public async Task NonFiniteNumbers_AreRefusedNamingTheField(string path, string body, string field)
    {
        var (status, _, response) = await PostJsonAsync(fixture.Server.Http, path, body);
        Assert.True(status is 400 or 422, $"{path}: {status}");
        Assert.Contains(field, await AssertDocumentedErrorAsync(response, path));
    }

    /// <summary>A lone surrogate escaped in a property name made System.Text.Json throw InvalidOperationException.</summary>
    [Theory]
    [InlineData("/api/generate")]
    [InlineData("/sdapi/v1/txt2img")]
    [InlineData("/v1/images/generations")]
    public async Task LoneSurrogateInAPropertyName_IsA4xx(string path)
    {
        var (status, _, response) = await PostJsonAsync(fixture.Server.Http, path, """{"prompt":"a","size":"64x64","width":64,"height":64,"\udfff\ud800x":34}""");
        Assert.True(status is 200 or 400 or 422, $"{path}: {status}");
        if (status != 200) await AssertDocumentedErrorAsync(response, path);
    }

    /// <summary>
    /// A lone surrogate in a value kept as a JsonElement (override_settings, alwayson_scripts) passed the parser and threw
    /// InvalidOperationException when read (500; fuzz seed 6a1nbaWBWPNg). Now 4xx naming the field.
    /// </summary>
    [Theory]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"a","width":64,"height":64,"override_settings":{"sd_model_checkpoint":"\udfff"}}""", "override_settings")]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"a","width":64,"height":64,"alwayson_scripts":{"controlnet":{"args":[{"module":"\ud800x"}]}}}""", "alwayson_scripts")]
    [InlineData("/sdapi/v1/txt2img", """{"prompt":"a","width":64,"height":64,"comments":["\udfff"]}""", "comments")]
    [InlineData("/api/generate", """{"prompt":"a\udfff","width":64,"height":64}""", "prompt")]
    public async Task LoneSurrogateInAValue_IsRefusedNamingTheField(string path, string body, string field)
    {
        var (status, _, response) = await PostJsonAsync(fixture.Server.Http, path, body);
        Assert.True(status is 400 or 422, $"{path}: {status}");
        Assert.Contains(field, await AssertDocumentedErrorAsync(response, path));
    }

    [Fact]
    public async Task LoneSurrogateInAPropertyName_OnTheWebSocket_IsAnErrorAndTheSessionLives()
    {
        await using var client = await fixture.Server.ConnectAsync();
        await client.NextTextAsync("hello");
        await client.SendTextAsync("""{"requestId":1,"prompt":"a","\udfff\ud800x":34}""");
        var error = await client.NextTextAsync("error");
        Assert.Equal("json", error.Text!.Value.GetProperty("field").GetString());
        Assert.Equal(WebSocketState.Open, client.State);
        await client.SendAsync(RealtimeTestKit.Generate(2, "still here"));
        Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>API key on every API (each in its own error shape), /health open, body and image limits.</summary>
public sealed class ApiSecurityTests
{
    private const string Key = "s3cret-key";

    [Fact]
    public async Task WithApiKey_EveryApiAnswers401WithoutIt_InItsOwnShape_AndHealthStaysOpen()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { ApiKey = Key });
        var http = server.Http;
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        var (status, openAi, _) = await PostJsonAsync(http, "/v1/images/generations", """{"prompt": "x", "size": "64x64"}""");
        Assert.Equal(401, status);
        Assert.Equal("invalid_api_key", openAi.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", openAi.GetProperty("error").GetProperty("type").GetString());

        var a1111 = await http.GetAsync("/sdapi/v1/sd-models");
        Assert.Equal(HttpStatusCode.Unauthorized, a1111.StatusCode);
        Assert.Equal("Basic", a1111.Headers.WwwAuthenticate.Single().Scheme);
        var a1111Body = JsonDocument.Parse(await a1111.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("HTTPException", a1111Body.GetProperty("error").GetString());
        Assert.StartsWith("401: ", a1111Body.GetProperty("errors").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/info")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/models")).StatusCode);

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        var wrongResponse = await http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Contains("Incorrect API key", await wrongResponse.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + Key)]
    [InlineData("X-Api-Key", Key)]
    [InlineData("Authorization", "Basic BASIC")]
    public async Task WithApiKey_BearerApiKeyHeaderAndBasicAreAccepted(string header, string value)
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { ApiKey = Key });
        value = value.Replace("BASIC", Convert.ToBase64String(Encoding.UTF8.GetBytes("webui:" + Key)));
        foreach (string path in new[] { "/v1/models", "/sdapi/v1/sd-models", "/api/info" })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation(header, value);
            Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(request)).StatusCode);
        }
    }

    [Fact]
    public async Task OversizedBody_Is413_BeforeItIsRead()
    {
        await using var server = await TestServer.StartAsync();
        foreach (string path in new[] { "/v1/images/generations", "/sdapi/v1/txt2img", "/api/generate" })
        {
            // Expect: 100-continue lets the client hear the 413 before sending 33 MiB the server will not read.
            var big = new ByteArrayContent(new byte[33 * 1024 * 1024]);
            big.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = big };
            request.Headers.ExpectContinue = true;
            var response = await server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("limit is 33554432", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Images_ThatAreNotImages_Truncated_OrEnormous_AreRejectedBeforeDecoding()
    {
        await using var server = await TestServer.StartAsync();
        byte[] png = Png(64, 64);
        var cases = new (byte[] Data, string Expect)[]
        {
            (Encoding.UTF8.GetBytes("definitely not an image"), "not a readable image"),
            (png[..40], "not a readable image"),          // cut inside the header
            (png[..(png.Length - 30)], "could not be decoded"), // header fine, pixel data cut
            (HugePngHeader(60000, 60000), "at most"),       // a header claiming 3.6 gigapixels
        };
        foreach (var (data, expect) in cases)
        {
            var (status, body, _) = await PostJsonAsync(server.Http, "/api/generate",
                JsonSerializer.Serialize(new { prompt = "x", width = 64, height = 64, init_image = Convert.ToBase64String(data) }));
            Assert.Equal(400, status);
            Assert.Equal("init_image", body.GetProperty("error").GetProperty("param").GetString());
            Assert.Contains(expect, body.GetProperty("error").GetProperty("message").GetString());

            using var form = new MultipartFormDataContent { { new StringContent("x"), "prompt" }, { new ByteArrayContent(data), "image", "in.png" } };
            var edit = await server.Http.PostAsync("/v1/images/edits", form);
            Assert.Equal(HttpStatusCode.BadRequest, edit.StatusCode);
            Assert.Equal("image", JsonDocument.Parse(await edit.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task PromptTooLong_Is400_NamingTheField()
    {
        await using var server = await TestServer.StartAsync();
        string prompt = new('a', 10_001);
        var (status, body, _) = await PostJsonAsync(server.Http, "/v1/images/generations", JsonSerializer.Serialize(new { prompt, size = "64x64" }));
        Assert.Equal(400, status);
        Assert.Equal("prompt", body.GetProperty("error").GetProperty("param").GetString());
        var (a1111Status, a1111, _) = await PostJsonAsync(server.Http, "/sdapi/v1/txt2img", JsonSerializer.Serialize(new { prompt = "x", negative_prompt = prompt, width = 64, height = 64 }));
        Assert.Equal(422, a1111Status);
        Assert.Equal("negative_prompt", a1111.GetProperty("detail")[0].GetProperty("loc")[1].GetString());
    }
}

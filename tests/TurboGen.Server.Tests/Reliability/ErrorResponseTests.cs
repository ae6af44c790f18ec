using System.Net;
using System.Text;
using System.Text.Json;
using static TurboGen.Server.Tests.Reliability.ErrorShapes;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>
/// Issue 14.4 and 14.5: every error response carries the front end's error body, whoever produced it — routing (404,
/// 405, 415), parameter binding (400), a malformed multipart body (400, not 500).
/// </summary>
public sealed class ErrorResponseTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    private HttpClient Http => fixture.Server.Http;

    [Fact]
    public async Task MalformedMultipart_OnEdits_Is400InTheOpenAiShape()
    {
        // No closing boundary: the form cannot be read to its end.
        string body = "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG...";
        var content = new ByteArrayContent(Encoding.Latin1.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        var response = await Http.PostAsync("/v1/images/edits", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string message = await AssertDocumentedErrorAsync(response, "/v1/images/edits");
        Assert.Contains("multipart", message);
    }

    [Fact]
    public async Task EditsWithJson_Is415InTheOpenAiShape()
    {
        var response = await Http.PostAsync("/v1/images/edits", new StringContent("""{"prompt":"x"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertDocumentedErrorAsync(response, "/v1/images/edits");
    }

    [Theory]
    [InlineData("GET", "/v1/nothing", 404)]
    [InlineData("POST", "/v1/images/variations", 404)]
    [InlineData("GET", "/sdapi/v1/nothing", 404)]
    [InlineData("GET", "/api/nothing", 404)]
    [InlineData("GET", "/nothing/at/all", 404)]
    [InlineData("GET", "/v1/images/generations", 405)]
    [InlineData("DELETE", "/v1/models", 405)]
    [InlineData("GET", "/sdapi/v1/txt2img", 405)]
    [InlineData("PUT", "/api/generate", 405)]
    public async Task RoutingErrors_CarryTheFrontEndsBody(string method, string path, int status)
    {
        var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(status, (int)response.StatusCode);
        string message = await AssertDocumentedErrorAsync(response, path);
        Assert.Contains(path, message);
    }

    [Theory]
    [InlineData("/v1/images/generations")]
    [InlineData("/sdapi/v1/txt2img")]
    [InlineData("/api/generate")]
    public async Task WrongContentType_Is415WithTheFrontEndsBody(string path)
    {
        var response = await Http.PostAsync(path, new StringContent("<prompt>x</prompt>", Encoding.UTF8, "application/xml"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertDocumentedErrorAsync(response, path);
    }

    [Theory]
    [InlineData("/api/history?limit=abc", "limit")]
    [InlineData("/sdapi/v1/progress?skip_current_image=maybe", "skip_current_image")]
    [InlineData("/api/history/x.png?download=perhaps", "download")]
    public async Task QueryStringsThatDoNotBind_Are4xxNamingTheParameter(string path, string parameter)
    {
        var response = await Http.GetAsync(path);
        Assert.True((int)response.StatusCode is 400 or 422, $"{path}: {(int)response.StatusCode}");
        string message = await AssertDocumentedErrorAsync(response, path);
        Assert.Contains(parameter, message);
        if (!path.StartsWith("/sdapi", StringComparison.Ordinal))
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(parameter, body.RootElement.GetProperty("error").GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task ClientErrors_AreNotLoggedAsServerErrors()
    {
        var logs = new LogCollector();
        await using var server = await TestServer.StartAsync(logging: logs.Attach);
        foreach (string path in new[] { "/api/history?limit=abc", "/sdapi/v1/progress?skip_current_image=maybe", "/v1/nothing" })
        {
            Assert.True((int)(await server.Http.GetAsync(path)).StatusCode is >= 400 and < 500, path);
        }
        var multipart = new ByteArrayContent(Encoding.ASCII.GetBytes("--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx"));
        multipart.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=b");
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.PostAsync("/v1/images/edits", multipart)).StatusCode);
        Assert.True(logs.Errors.Count == 0, string.Join("\n", logs.Errors));
    }
}

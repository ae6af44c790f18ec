using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests;

/// <summary>Without a ready model, generation endpoints answer 503 with Retry-After in each API's shape; /api/info still answers.</summary>
public sealed class ApiLoadingTests
{
    [Fact]
    public async Task ModelNotReady_Is503_WithRetryAfter_InEachApisShape()
    {
        var app = TurboGenServer.Build(new ServerOptions { ModelPath = "/nonexistent/model", Port = 0, WarmUp = false });
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && (await http.GetFromJsonAsync<JsonElement>("/api/info")).GetProperty("state").GetString() != "failed")
            {
                await Task.Delay(20);
            }
            var (status, openAi, response) = await PostJsonAsync(http, "/v1/images/generations", """{"prompt": "x"}""");
            Assert.Equal(503, status);
            Assert.Equal("server_error", openAi.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("model_failed", openAi.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("/nonexistent/model", openAi.GetProperty("error").GetProperty("message").GetString());
            Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);

            var (a1111Status, a1111, _) = await PostJsonAsync(http, "/sdapi/v1/txt2img", """{"prompt": "x"}""");
            Assert.Equal(503, a1111Status);
            Assert.Equal("HTTPException", a1111.GetProperty("error").GetString());

            var info = await http.GetFromJsonAsync<JsonElement>("/api/info");
            Assert.Equal(JsonValueKind.Null, info.GetProperty("model").ValueKind);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}

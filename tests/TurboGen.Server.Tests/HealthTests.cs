using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace TurboGen.Server.Tests;

public sealed class HealthTests
{
    [Fact]
    public async Task Health_IsReady_AfterWarmUp_AndMetricsRender()
    {
        await using var server = await TestServer.StartAsync();
        var health = await server.Http.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ready", health.GetProperty("status").GetString());
        Assert.Equal("tiny/SdxlTurbo", health.GetProperty("model").GetString());
        string metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("turbogen_queue_depth 0", metrics);
    }

    [Fact]
    public async Task Health_Is503_WhileTheModelFailsToLoad()
    {
        var app = TurboGenServer.Build(new ServerOptions { ModelPath = "/nonexistent/model", Port = 0, WarmUp = false });
        await app.StartAsync();
        try
        {
            var address = app.Urls.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            HttpResponseMessage response;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            do
            {
                response = await http.GetAsync("/health");
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (body.GetProperty("status").GetString() == "failed")
                {
                    Assert.Contains("/nonexistent/model", body.GetProperty("error").GetString());
                    break;
                }
                await Task.Delay(20);
            }
            while (DateTime.UtcNow < deadline);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public void NonLoopbackBind_WithoutApiKey_IsRefused()
    {
        var e = Assert.Throws<InvalidRequestException>(() => TurboGenServer.Build(new ServerOptions { ModelPath = "x", Host = "0.0.0.0" }));
        Assert.Equal("api_key", e.Parameter);
    }
}

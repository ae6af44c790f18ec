using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace TurboGen.Server.Tests;

/// <summary>/openapi/v1.json is a valid OpenAPI document listing every mapped HTTP endpoint.</summary>
public sealed class OpenApiDocumentTests(ApiServerFixture fixture) : IClassFixture<ApiServerFixture>
{
    [Fact]
    public async Task Document_ListsEveryMappedHttpRoute()
    {
        string json = await fixture.Server.Http.GetStringAsync("/openapi/v1.json");
        var doc = JsonDocument.Parse(json).RootElement;
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        Assert.Equal("TurboGen", doc.GetProperty("info").GetProperty("title").GetString());
        var paths = doc.GetProperty("paths");

        var endpoints = fixture.Server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null
                        && e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .ToList();
        Assert.True(endpoints.Count >= 20);
        foreach (var endpoint in endpoints)
        {
            string path = "/" + endpoint.RoutePattern.RawText!.Trim('/').Replace("{**", "{"); // a group's "" route ends in "/"; OpenAPI drops it
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing from the OpenAPI document");
            foreach (string method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods)
            {
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out _), $"{method} {path} is missing");
            }
        }
        foreach (string required in new[] { "/v1/images/generations", "/v1/images/edits", "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/progress", "/api/generate", "/api/info", "/health" })
        {
            Assert.True(paths.TryGetProperty(required, out _), required);
        }
        var schema = paths.GetProperty("/v1/images/generations").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.True(schema.TryGetProperty("$ref", out _) || schema.TryGetProperty("properties", out _));
        Assert.Contains("\"response_format\"", json);
        Assert.Contains("\"init_images\"", json);
    }
}

using System.Net.Http.Headers;
using System.Text.Json;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>The documented error bodies: OpenAI's under /v1, /api and elsewhere, A1111's under /sdapi (docs/API.md).</summary>
internal static class ErrorShapes
{
    /// <summary>Reads the body and checks it is the error shape of <paramref name="path"/>'s front end; returns the message.</summary>
    public static async Task<string> AssertDocumentedErrorAsync(HttpResponseMessage response, string path)
    {
        string text = await response.Content.ReadAsStringAsync();
        int status = (int)response.StatusCode;
        Assert.True(status >= 400, $"{path}: {status} is not an error");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json",
            $"{path}: {status} answered with Content-Type '{response.Content.Headers.ContentType}' and body '{Cut(text)}'");
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        if (path.StartsWith("/sdapi", StringComparison.OrdinalIgnoreCase))
        {
            foreach (string field in new[] { "error", "detail", "body", "errors" })
            {
                Assert.True(root.TryGetProperty(field, out _), $"{path}: {status} A1111 body lacks '{field}': {Cut(text)}");
            }
            Assert.Equal(JsonValueKind.String, root.GetProperty("error").ValueKind);
            return root.GetProperty("errors").GetString()!;
        }
        Assert.True(root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object, $"{path}: {status} body is not an OpenAI error: {Cut(text)}");
        string message = error.GetProperty("message").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(message), $"{path}: empty message");
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _), $"{path}: OpenAI error lacks param/code: {Cut(text)}");
        if (status == 429 || status == 503)
        {
            Assert.True(response.Headers.RetryAfter is not null, $"{path}: {status} without Retry-After");
        }
        return message;
    }

    public static string Cut(string text) => text.Length > 300 ? text[..300] + "…" : text;

    public static MediaTypeHeaderValue Json => new("application/json");
}

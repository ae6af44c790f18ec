using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api;

/// <summary>Helpers every API endpoint uses: the ready model worker, fair-queue session keys and JSON bodies.</summary>
public static class ApiRequests
{
    /// <summary>The generation service, or 503 (with Retry-After) while the model is loading or after it failed.</summary>
    public static IGenerationService RequireService(ModelHost host) => host.Service ?? throw new ApiException(503,
        host.State == "failed" ? "model_failed" : "model_loading",
        host.State == "failed" ? $"The model failed to load: {host.Error}" : $"The model is {host.State}; retry in a few seconds.",
        retryAfter: TimeSpan.FromSeconds(5));

    /// <summary>
    /// The worker queues jobs per session and serves sessions round-robin; API clients are one session per API and
    /// remote address (or per OpenAI <c>user</c>), so one busy client cannot starve another.
    /// </summary>
    public static string SessionKey(HttpContext http, string api, string? user = null) =>
        string.IsNullOrWhiteSpace(user)
            ? $"{api}:{http.Connection.RemoteIpAddress}"
            : $"{api}:user:{user.Trim()}";

    /// <summary>Image-to-image needs the VAE encoder; <paramref name="field"/> names the image field in the error.</summary>
    public static void RequireImageToImage(IGenerationService service, string field)
    {
        if (!service.Model.HasVaeEncoder)
        {
            throw new InvalidRequestException(field, "The loaded model has no VAE encoder, so image-to-image is not available.");
        }
    }

    /// <summary>Reads a JSON object body; unknown fields are ignored, type errors name the field (<see cref="JsonException.Path"/>).</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, JsonSerializerOptions options, CancellationToken ct) where T : class
    {
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase) && !type.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(415, "unsupported_media_type", $"Send the request as application/json (got {type}).");
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct).ConfigureAwait(false);
        if (buffer.Length == 0)
        {
            throw new InvalidRequestException("body", "The request body is empty: send a JSON object.");
        }
        buffer.Position = 0;
        using var document = await JsonDocument.ParseAsync(buffer, cancellationToken: ct).ConfigureAwait(false);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestException("body", $"The request body must be a JSON object (got {document.RootElement.ValueKind.ToString().ToLowerInvariant()}).");
        }
        // Only a \u escape can spell a lone surrogate (raw invalid UTF-8 fails the parser), so bodies without one (every
        // base64 image) skip the walk and its string copies.
        if (buffer.GetBuffer().AsSpan(0, (int)buffer.Length).IndexOf("\\u"u8) >= 0) RejectInvalidText(document.RootElement, "$");
        return document.RootElement.Deserialize<T>(options) ?? throw new InvalidRequestException("body", "The request body must be a JSON object.");
    }

    /// <summary>
    /// JSON escapes can spell text that is not valid UTF-16 (a lone surrogate such as <c>"\udfff"</c>); the parser accepts it
    /// and only reading the string fails. Fields kept as <see cref="JsonElement"/> (override_settings, alwayson_scripts, …)
    /// are read later, so every string and property name is checked once here, and the error names the field.
    /// </summary>
    private static void RejectInvalidText(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                try { _ = element.GetString(); }
                catch (InvalidOperationException) { throw Invalid(path); }
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in element.EnumerateArray()) RejectInvalidText(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException) { throw Invalid(path); }
                    RejectInvalidText(property.Value, $"{path}.{name}");
                }
                break;
        }
    }

    private static InvalidRequestException Invalid(string path) =>
        new(ApiProblem.JsonField(path) ?? "body", $"The text at {path} is not valid Unicode (a lone UTF-16 surrogate escape such as \\udfff).");
}

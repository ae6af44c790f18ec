using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Realtime;

/// <summary>
/// Who may use the real-time endpoints. With an API key configured, requests must carry it (<c>Authorization: Bearer</c>,
/// <c>X-Api-Key</c>, or <c>?key=</c> for WebSockets and image URLs, which browsers cannot give headers). Without a key
/// (loopback only), a browser WebSocket must come from this server's own page (same Origin), so another web site
/// open in the user's browser cannot drive the local server.
/// </summary>
public static class RealtimeAccess
{
    public static bool HasValidKey(HttpContext context, string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey)) return false;
        string? given = null;
        string? auth = context.Request.Headers.Authorization;
        if (auth is not null && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) given = auth[7..].Trim();
        given ??= context.Request.Headers["X-Api-Key"].FirstOrDefault() ?? context.Request.Query["key"].FirstOrDefault();
        return given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(apiKey));
    }

    /// <summary>Null when allowed, else the result to answer with (401 without a valid key, 403 for a foreign Origin).</summary>
    public static IResult? Check(HttpContext context, ServerOptions options, bool browserSocket = false)
    {
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            return HasValidKey(context, options.ApiKey) ? null
                : Results.Json(new { error = new { message = "A valid API key is required (Authorization: Bearer <key> or ?key=).", field = "api_key" } }, statusCode: StatusCodes.Status401Unauthorized);
        }
        if (browserSocket && context.Request.Headers.Origin.FirstOrDefault() is { Length: > 0 } origin && !SameOrigin(origin, context.Request.Host.Value))
        {
            return Results.Json(new { error = new { message = $"WebSocket connections from {origin} are not allowed.", field = "origin" } }, statusCode: StatusCodes.Status403Forbidden);
        }
        return null;
    }

    private static bool SameOrigin(string origin, string? host) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);
}

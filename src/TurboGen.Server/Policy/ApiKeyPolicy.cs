using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Policy;

/// <summary>The outcome of an API-key check.</summary>
public enum KeyVerdict
{
    /// <summary>No key is configured (loopback only): everything is allowed.</summary>
    NotRequired,
    Valid,
    /// <summary>A key is configured and the request carries no credential.</summary>
    Missing,
    /// <summary>A key is configured and every credential the request carries is wrong.</summary>
    Wrong,
}

/// <summary>Endpoint metadata: served without the API key (<c>/health</c>, the web app's files, OpenAI image URLs).</summary>
public sealed class OpenAccess
{
    public static readonly OpenAccess Instance = new();
}

/// <summary>
/// Endpoint metadata: the key may also come as <c>?key=</c>. Only for what a browser loads without being able to set a
/// header: the WebSocket upgrade (<c>/ws</c>) and kept-image links (<c>/api/history/{file}</c> in <c>img</c>/<c>a</c> tags).
/// </summary>
public sealed class QueryKeyAccepted
{
    public static readonly QueryKeyAccepted Instance = new();
}

/// <summary>
/// The one API-key policy of every endpoint and transport (HTTP APIs, <c>/metrics</c>, <c>/api/*</c>, the WebSocket).
/// With <see cref="ServerOptions.ApiKey"/> set, a request must carry the key as any of:
/// <c>Authorization: Bearer &lt;key&gt;</c>, <c>X-Api-Key: &lt;key&gt;</c>, HTTP Basic with the key as the password (any
/// user name), or <c>?key=&lt;key&gt;</c> where the endpoint accepts it (<see cref="QueryKeyAccepted"/>). Keys are
/// compared in constant time over their SHA-256 hashes, so neither content nor length leaks through timing.
/// Endpoints marked <see cref="OpenAccess"/> need no key; every other endpoint does (deny by default).
/// </summary>
public sealed class ApiKeyPolicy(ServerOptions options)
{
    public const string QueryParameter = "key";

    public bool KeyRequired => !string.IsNullOrEmpty(options.ApiKey);

    /// <summary>Checks the request's credentials.</summary>
    public KeyVerdict Check(HttpRequest request, bool acceptQueryKey)
    {
        if (!KeyRequired) return KeyVerdict.NotRequired;
        string expected = options.ApiKey!;
        bool any = false;
        foreach (string? header in request.Headers["X-Api-Key"])
        {
            if (header is null) continue;
            any = true;
            if (KeysEqual(header.Trim(), expected)) return KeyVerdict.Valid;
        }
        foreach (string? header in request.Headers.Authorization)
        {
            if (header is null) continue;
            any = true;
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && KeysEqual(header[7..].Trim(), expected)) return KeyVerdict.Valid;
            if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) && BasicPassword(header[6..].Trim()) is { } password && KeysEqual(password, expected)) return KeyVerdict.Valid;
        }
        if (acceptQueryKey)
        {
            foreach (string? key in request.Query[QueryParameter])
            {
                if (key is null) continue;
                any = true;
                if (KeysEqual(key, expected)) return KeyVerdict.Valid;
            }
        }
        return any ? KeyVerdict.Wrong : KeyVerdict.Missing;
    }

    /// <summary>The message of a 401 for <paramref name="verdict"/>.</summary>
    public static string Message(KeyVerdict verdict, bool acceptQueryKey) => verdict == KeyVerdict.Wrong
        ? "Incorrect API key provided."
        : "No API key provided: send 'Authorization: Bearer <key>', 'X-Api-Key: <key>' or HTTP Basic with the key as password"
          + (acceptQueryKey ? $", or ?{QueryParameter}=<key>." : ".");

    /// <summary>
    /// Without a key (loopback only), a browser WebSocket must come from this server's own page (same Origin), so another
    /// web site open in the user's browser cannot drive the local server. Null when allowed, else the refused origin.
    /// </summary>
    public string? ForeignOrigin(HttpContext context)
    {
        if (KeyRequired) return null; // the key is the credential
        return context.Request.Headers.Origin.FirstOrDefault() is { Length: > 0 } origin && !SameOrigin(origin, context.Request.Host.Value) ? origin : null;
    }

    /// <summary>Constant-time comparison of two keys: both are hashed first, so the compare never depends on their lengths.</summary>
    public static bool KeysEqual(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    private static string? BasicPassword(string encoded)
    {
        var buffer = new byte[encoded.Length];
        if (!Convert.TryFromBase64String(encoded, buffer, out int length)) return null;
        string pair = Encoding.UTF8.GetString(buffer, 0, length);
        int colon = pair.IndexOf(':');
        return colon < 0 ? null : pair[(colon + 1)..];
    }

    private static bool SameOrigin(string origin, string? host) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);
}

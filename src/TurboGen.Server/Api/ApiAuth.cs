using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Api;

/// <summary>
/// API-key check for every API request when <see cref="ServerOptions.ApiKey"/> is set. Accepted forms:
/// <c>Authorization: Bearer &lt;key&gt;</c> (OpenAI clients), <c>X-Api-Key: &lt;key&gt;</c>, and HTTP Basic with the key
/// as the password and any user name (A1111's <c>--api-auth</c> clients). Keys are compared in constant time.
/// </summary>
public static class ApiAuth
{
    /// <summary>True when no key is configured or the request carries it.</summary>
    public static bool IsAuthorized(HttpRequest request, string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey)) return true;
        foreach (string? header in request.Headers["X-Api-Key"])
        {
            if (header is not null && KeysEqual(header.Trim(), apiKey)) return true;
        }
        foreach (string? header in request.Headers.Authorization)
        {
            if (header is null) continue;
            if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && KeysEqual(header[7..].Trim(), apiKey)) return true;
            if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) && BasicPassword(header[6..].Trim()) is { } password && KeysEqual(password, apiKey)) return true;
        }
        return false;
    }

    /// <summary>True when the request carries any credential at all (to tell "missing" from "wrong" in messages).</summary>
    public static bool HasCredentials(HttpRequest request) =>
        request.Headers.ContainsKey("X-Api-Key") || request.Headers.ContainsKey("Authorization");

    private static string? BasicPassword(string encoded)
    {
        var buffer = new byte[encoded.Length];
        if (!Convert.TryFromBase64String(encoded, buffer, out int length)) return null;
        string pair = Encoding.UTF8.GetString(buffer, 0, length);
        int colon = pair.IndexOf(':');
        return colon < 0 ? null : pair[(colon + 1)..];
    }

    private static bool KeysEqual(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}

using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TurboGen.Server.Generation;

using TurboGen.Server.Policy;

namespace TurboGen.Server.Api;

/// <summary>What went wrong, independent of any API's error format: status, kind, code, field, message, Retry-After.</summary>
/// <param name="Kind">"invalid_request", "authentication", "not_found", "too_large", "busy", "loading" or "server_error".</param>
public sealed record ApiProblem(int Status, string Kind, string? Code, string? Parameter, string Message, TimeSpan? RetryAfter = null)
{
    /// <summary>Classifies an exception thrown while serving a request.</summary>
    public static ApiProblem From(Exception e) => e switch
    {
        ApiException a => new ApiProblem(a.Status, KindOf(a.Status), a.Code, a.Parameter, a.Message, a.RetryAfter),
        InvalidRequestException i => new ApiProblem(400, "invalid_request", "invalid_value", i.Parameter, i.Message),
        ImageDecodeException d => new ApiProblem(400, "invalid_request", "invalid_image", "image", d.Message),
        JsonException j => new ApiProblem(400, "invalid_request", "invalid_json", JsonField(j.Path),
            $"The request body is not valid JSON for this endpoint{(j.Path is { Length: > 1 } p ? $" at {p}" : "")}: {FirstSentence(j.Message)}"),
        ServerBusyException b => new ApiProblem(429, "busy", "server_busy", null, b.Message, b.RetryAfter),
        ServiceUnavailableException u => new ApiProblem(503, "loading", u.Code, null, u.Message, u.RetryAfter),
        BadHttpRequestException h when h.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            new ApiProblem(413, "too_large", "request_too_large", null, $"The request body is larger than {RequestLimits.MaxBodyBytes / (1024 * 1024)} MiB."),
        BadHttpRequestException h => new ApiProblem(h.StatusCode, KindOf(h.StatusCode), "bad_request", null, h.Message),
        InvalidDataException f => new ApiProblem(400, "invalid_request", "invalid_form", null, $"The multipart form could not be read: {f.Message}"),
        OutputWriteException o => new ApiProblem(o.DiskFull ? 507 : 500, "server_error", o.DiskFull ? "insufficient_storage" : "output_write_failed", null, o.Message),
        NumericalException n => new ApiProblem(500, "server_error", "numerical_error", null, n.Message),
        TurboGenException t => new ApiProblem(500, "server_error", "engine_error", null, t.Message),
        _ => new ApiProblem(500, "server_error", "internal_error", null, "Internal server error (" + e.GetType().Name + "): " + e.Message),
    };

    private static string KindOf(int status) => status switch
    {
        401 => "authentication",
        404 => "not_found",
        413 => "too_large",
        429 => "busy",
        503 => "loading",
        >= 500 => "server_error",
        _ => "invalid_request",
    };

    /// <summary>"$.n" → "n", "$.init_images[0]" → "init_images", "$" → null.</summary>
    internal static string? JsonField(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return null;
        string p = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        int cut = p.IndexOfAny(['.', '[']);
        return cut > 0 ? p[..cut] : p;
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Api;

/// <summary>An error result that also sets <c>Retry-After</c> (429, 503).</summary>
public sealed class ErrorResult(IResult inner, TimeSpan? retryAfter, string? wwwAuthenticate = null) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        if (retryAfter is { } wait)
        {
            httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        if (wwwAuthenticate is not null)
        {
            httpContext.Response.Headers.WWWAuthenticate = wwwAuthenticate;
        }
        return inner.ExecuteAsync(httpContext);
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboGen.Server.Generation;

using TurboGen.Server.Policy;

namespace TurboGen.Server.Api;

/// <summary>
/// Endpoint filter in front of every API endpoint: counts the request, caps the body size
/// (<see cref="RequestLimits.MaxBodyBytes"/>, 413) and turns any exception into the API's own error shape.
/// (The API key was checked before, for every endpoint alike, by <see cref="ApiKeyGate"/>.)
/// A request whose client has gone away is ended quietly (its queued or running job was cancelled with it).
/// </summary>
public sealed class ApiGuard(IApiErrorFormat format) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        services.GetRequiredService<ServerMetrics>().Request((http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path);
        try
        {
            if (http.Request.ContentLength > RequestLimits.MaxBodyBytes)
            {
                throw new ApiException(413, "request_too_large", $"The request body is {http.Request.ContentLength} bytes; the limit is {RequestLimits.MaxBodyBytes} ({RequestLimits.MaxBodyBytes / (1024 * 1024)} MiB).");
            }
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = RequestLimits.MaxBodyBytes;
            }
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            return Results.Empty; // the client is gone (mid-upload or mid-generation): nothing to answer, nothing to log as a failure
        }
        catch (Exception e)
        {
            var problem = ApiProblem.From(e);
            if (problem.Status >= 500)
            {
                services.GetRequiredService<ILoggerFactory>().CreateLogger<ApiGuard>().LogError(e, "API request {Path} failed", http.Request.Path);
            }
            return format.Render(problem);
        }
    }
}

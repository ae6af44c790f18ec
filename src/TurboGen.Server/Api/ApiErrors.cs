using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboGen.Server.Api.A1111;
using TurboGen.Server.Api.OpenAi;

namespace TurboGen.Server.Api;

/// <summary>
/// The one way an error response is written, whatever produced it: an endpoint's exception (<see cref="ApiGuard"/>),
/// the key gate's 401 (<see cref="ApiKeyGate"/>), an exception no endpoint caught (ASP.NET Core's exception handler,
/// <see cref="ExceptionHandler"/>), or a bodiless 4xx/5xx from routing or parameter binding — unknown routes (404), wrong
/// method (405), wrong Content-Type (415), a query string that does not bind (400) — which status-code pages hand to the
/// problem-details writer (<see cref="ProblemWriter"/>). Each renders an <see cref="ApiProblem"/> in the front end's
/// shape (<see cref="FormatFor"/>): A1111's under <c>/sdapi</c>, the OpenAI error object everywhere else.
/// </summary>
public static partial class ApiErrors
{
    /// <summary>Registers the exception handler and the problem-details writer. Call before <c>Build()</c>.</summary>
    public static IServiceCollection AddApiErrors(this IServiceCollection services)
    {
        // Minimal APIs answer a query/route value that does not bind with an exception naming the parameter
        // (instead of a bare 400), which the exception handler renders.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddSingleton<IProblemDetailsWriter, ProblemWriter>(); // before AddProblemDetails' default writer
        services.AddProblemDetails();
        services.AddExceptionHandler<ExceptionHandler>();
        return services;
    }

    /// <summary>Adds the exception handler and status-code pages at the front of the pipeline.</summary>
    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app) => app.UseExceptionHandler().UseStatusCodePages();

    /// <summary>The error shape of the request's front end: the endpoint's own, else by path (<c>/sdapi</c> → A1111, else OpenAI).</summary>
    public static IApiErrorFormat FormatFor(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<IApiErrorFormat>()
        ?? (http.Request.Path.StartsWithSegments("/sdapi", StringComparison.OrdinalIgnoreCase) ? A1111ErrorFormat.Instance : OpenAiErrorFormat.Instance);

    /// <summary>Writes <paramref name="problem"/> in the request's error shape.</summary>
    public static Task WriteAsync(HttpContext http, ApiProblem problem) => FormatFor(http).Render(problem).ExecuteAsync(http);

    /// <summary>The problem behind a bodiless status code set by routing or binding.</summary>
    public static ApiProblem ForStatus(HttpContext http, int status)
    {
        var request = http.Request;
        string target = $"{request.Method} {request.Path}";
        return status switch
        {
            404 => new ApiProblem(404, "not_found", "unknown_url", null, $"Invalid URL ({target}): no such endpoint. See /openapi/v1.json for the endpoints."),
            405 => new ApiProblem(405, "invalid_request", "method_not_allowed", null,
                $"Method {request.Method} is not allowed on {request.Path}{(http.Response.Headers.Allow.Count > 0 ? $" (allowed: {http.Response.Headers.Allow})" : "")}."),
            415 => new ApiProblem(415, "invalid_request", "unsupported_media_type", null,
                $"Content-Type '{request.ContentType ?? "(none)"}' is not accepted by {target}{AcceptedTypes(http)}."),
            413 => new ApiProblem(413, "too_large", "request_too_large", null, $"The request body is larger than {Policy.RequestLimits.MaxBodyBytes / (1024 * 1024)} MiB."),
            >= 500 => new ApiProblem(status, "server_error", "internal_error", null, $"The server failed to answer {target} ({status})."),
            _ => new ApiProblem(status, status == 401 ? "authentication" : "invalid_request", "bad_request", null, $"The request {target} could not be read ({status})."),
        };
    }

    /// <summary>The parameter a minimal-API binding failure names ("Failed to bind parameter \"bool? x\" from \"y\"" → x).</summary>
    internal static string? BoundParameter(string message) => BindFailure().Match(message) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex("""parameter "(?:[^"]*\s)?([A-Za-z_][A-Za-z0-9_]*)"( from|\s+was not)""")]
    private static partial Regex BindFailure();

    private static string AcceptedTypes(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is { ContentTypes.Count: > 0 } accepts
            ? $" (send {string.Join(" or ", accepts.ContentTypes)})"
            : "";

    /// <summary>Status-code pages and any other problem-details request: the front end's body for a bodiless status.</summary>
    private sealed class ProblemWriter : IProblemDetailsWriter
    {
        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            var http = context.HttpContext;
            var problem = context.Exception is { } e ? ApiProblem.From(e) : ForStatus(http, context.ProblemDetails.Status ?? http.Response.StatusCode);
            return new ValueTask(ApiErrors.WriteAsync(http, problem));
        }
    }

    /// <summary>An exception no endpoint filter caught: rendered like any other error; 5xx are logged.</summary>
    private sealed class ExceptionHandler(ILogger<ExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
        {
            if (http.RequestAborted.IsCancellationRequested) return true; // the client is gone: nothing to answer
            var problem = ApiProblem.From(exception);
            if (exception is BadHttpRequestException bad && BoundParameter(bad.Message) is { } parameter)
            {
                problem = problem with { Code = "invalid_value", Parameter = parameter };
            }
            if (problem.Status >= 500) logger.LogError(exception, "Request {Method} {Path} failed", http.Request.Method, http.Request.Path);
            await WriteAsync(http, problem).ConfigureAwait(false);
            return true;
        }
    }
}

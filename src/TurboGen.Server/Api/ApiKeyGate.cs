using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api;

/// <summary>
/// Applies <see cref="ApiKeyPolicy"/> to every request before it reaches an endpoint (HTTP APIs, <c>/metrics</c>,
/// <c>/openapi</c>, <c>/api/*</c>, the <c>/ws</c> upgrade, unknown paths): deny by default, except endpoints marked
/// <see cref="OpenAccess"/>. A refusal is 401 in the endpoint's error shape (<see cref="ApiErrors"/>).
/// </summary>
public static class ApiKeyGate
{
    public static IApplicationBuilder UseApiKeyGate(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var policy = context.RequestServices.GetRequiredService<ApiKeyPolicy>();
        var endpoint = context.GetEndpoint();
        if (!policy.KeyRequired || endpoint?.Metadata.GetMetadata<OpenAccess>() is not null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        bool query = endpoint?.Metadata.GetMetadata<QueryKeyAccepted>() is not null;
        var verdict = policy.Check(context.Request, query);
        if (verdict == KeyVerdict.Valid)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var problem = new ApiProblem(401, "authentication", "invalid_api_key", "api_key", ApiKeyPolicy.Message(verdict, query));
        await ApiErrors.WriteAsync(context, problem).ConfigureAwait(false);
    });
}

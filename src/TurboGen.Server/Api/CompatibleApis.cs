using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TurboGen.Server.Api.A1111;
using TurboGen.Server.Api.Native;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api;

/// <summary>
/// The HTTP APIs existing clients speak: OpenAI images (<c>/v1</c>), AUTOMATIC1111 (<c>/sdapi/v1</c>), TurboGen's own
/// (<c>/api</c>), and the OpenAPI document of every mapped HTTP endpoint at <c>/openapi/v1.json</c>.
/// <para>How it works: each API is a route group behind an <see cref="ApiGuard"/> (request count, API key, body
/// limit, exceptions → that API's error shape). Handlers parse the API's own request type, validate it against
/// <see cref="ApiLimits"/> (naming the field), map it onto a <c>GenerationRequest</c> and submit it to the shared
/// <c>IGenerationService</c> under a per-client session key, so API clients share the model fairly with the
/// real-time app; a client that disconnects cancels its job. Images are encoded per API (PNG with the A1111 infotext
/// and TurboGen JSON embedded, or JPEG/WebP) and returned inline or, for OpenAI <c>url</c>, kept an hour in
/// <see cref="ImageStore"/>. <c>/health</c> stays outside the guard, open without a key.</para>
/// </summary>
public static class CompatibleApis
{
    /// <summary>Registers the APIs' services (image store, A1111 job state, OpenAPI document). Call before <c>Build()</c>.</summary>
    public static IServiceCollection AddCompatibleApis(this IServiceCollection services)
    {
        services.TryAddSingleton(_ => new ImageStore());
        services.TryAddSingleton<A1111JobTracker>();
        services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "TurboGen";
            document.Info.Description = "OpenAI-compatible, AUTOMATIC1111-compatible and native image generation APIs. See docs/API.md.";
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>Maps the OpenAI, A1111 and native endpoints and <c>/openapi/v1.json</c>.</summary>
    public static WebApplication MapCompatibleApis(this WebApplication app)
    {
        OpenAiImagesApi.Map(app);
        A1111Api.Map(app);
        NativeApi.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }
}

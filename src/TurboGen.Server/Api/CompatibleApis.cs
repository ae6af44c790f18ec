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
/// <para>How it works: the API key is checked for every endpoint by <see cref="ApiKeyGate"/>; each API is a route group
/// behind an <see cref="ApiGuard"/> (request count, body limit, exceptions → that API's error shape). Handlers are thin
/// mappers: they parse the API's own request type, check it against the shared policy (<see cref="RequestLimits"/>,
/// <see cref="StylePresets"/>, <see cref="InputImages"/>; errors name the field), build a <c>GenerationRequest</c>, submit
/// it to the shared <c>IGenerationService</c> under a per-client session key (so API clients share the model fairly with
/// the real-time app; a client that disconnects cancels its job), and hand the result to <see cref="OutputWriter"/>
/// (metadata, encoding, saving). Images are returned inline or, for OpenAI <c>url</c>, kept an hour in <see cref="ImageStore"/>.</para>
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
        A1111ControlNetApi.Map(app);
        NativeApi.Map(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        return app;
    }
}

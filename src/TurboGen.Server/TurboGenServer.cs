using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboGen.Runtime;
using TurboGen.Server.Api;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime;

namespace TurboGen.Server;

/// <summary>
/// The ASP.NET Core application: loads the model once (<see cref="ModelHost"/>), then serves the web app, the
/// real-time WebSocket, the OpenAI / AUTOMATIC1111 / native APIs, <c>/health</c> and <c>/metrics</c>.
/// A request goes: API-key gate → endpoint (a thin mapper onto the policy layer in <c>Policy/</c>) →
/// <see cref="IGenerationService"/> (fair queue, one model worker, a job handle per job) → TurboPipeline → pixels →
/// <see cref="OutputWriter"/>. Every service is registered with dependency injection here.
/// </summary>
public static class TurboGenServer
{
    /// <summary>The health endpoint (load balancers and Kubernetes probes use it; deploy/gateway.yaml).</summary>
    public const string HealthPath = "/health";

    /// <summary>Builds the app. <paramref name="modelFactory"/> lets tests inject a model instead of loading <see cref="ServerOptions.ModelPath"/>.</summary>
    public static WebApplication Build(ServerOptions options, Func<TurboModel>? modelFactory = null, Action<ILoggingBuilder>? logging = null,
        TimeProvider? clock = null)
    {
        options = options with { ApiKey = EffectiveApiKey(options) };
        options.Validate(options.ApiKey);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(TurboGenServer).Assembly.GetName().Name });
        builder.WebHost.UseUrls(options.ListenUrl);
        builder.WebHost.ConfigureKestrel(kestrel => ConnectionLimits.Apply(kestrel.Limits, options.Connections));
        if (logging is not null) logging(builder.Logging);
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(clock ?? TimeProvider.System);
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton(sp => new ModelHost(options, sp.GetRequiredService<ServerMetrics>(), sp.GetRequiredService<ILogger<ModelHost>>(),
            sp.GetRequiredService<TimeProvider>(), modelFactory));
        services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        // The policy layer: one rule each for styles, keys and outputs (limits and input images are static).
        services.AddSingleton(StylePresets.Default);
        services.AddSingleton<ApiKeyPolicy>();
        services.AddSingleton<OutputWriter>();
        services.AddSingleton<OutputHistory>();
        services.AddApiErrors();
        services.AddCompatibleApis();
        services.AddRealtime();

        var app = builder.Build();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            int orphans = app.Services.GetRequiredService<OutputWriter>().RemoveOrphanedTemporaryFiles();
            if (orphans > 0) app.Logger.LogInformation("Removed {Count} unfinished temporary file(s) from the output folder", orphans);
        });
        app.UseApiErrors();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = options.Connections.WebSocketKeepAlive, KeepAliveTimeout = options.Connections.WebSocketTimeout });
        app.UseApiKeyGate();

        app.MapGet(HealthPath, Health).WithMetadata(OpenAccess.Instance);
        app.MapGet("/metrics", (ServerMetrics metrics, ModelHost host) => Results.Text(metrics.Render() + host.Gateway?.RenderMetrics(), "text/plain; version=0.0.4"));
        app.MapCompatibleApis();
        app.MapRealtime();
        return app;
    }

    /// <summary>
    /// Builds and runs the server until <paramref name="cancellationToken"/> is cancelled. <paramref name="listening"/> is
    /// called once Kestrel listens, with the addresses it bound (the real port when <see cref="ServerOptions.Port"/> is 0).
    /// </summary>
    public static async Task RunAsync(ServerOptions options, CancellationToken cancellationToken, Action<IReadOnlyCollection<string>>? listening = null)
    {
        await using var app = Build(options);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        listening?.Invoke(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? []);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The API key in force: the options' own, else TURBOGEN_API_KEY.</summary>
    public static string? EffectiveApiKey(ServerOptions options) =>
        options.ApiKey ?? (Environment.GetEnvironmentVariable("TURBOGEN_API_KEY") is { Length: > 0 } key ? key : null);

    /// <summary>
    /// <c>GET /health</c>: "ready" with the model id, or the loading state with the error; a gateway adds its queue (workers per
    /// model, depth) and answers 503 "queue_unavailable" while Redis is unreachable.
    /// </summary>
    private static IResult Health(ModelHost host)
    {
        var queue = host.Gateway?.Health();
        if (queue is { Redis: "unreachable" })
            return Results.Json(new HealthReport("queue_unavailable", host.Service?.Model.Id, $"The job queue ({queue.Address}) is unreachable.", queue),
                statusCode: StatusCodes.Status503ServiceUnavailable);
        return host.State == "ready"
            ? Results.Json(new HealthReport("ready", host.Service!.Model.Id, null, queue))
            : Results.Json(new HealthReport(host.State, null, host.Error, queue), statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary><c>GET /health</c>: "ready" with the model id, or the loading state with the error.</summary>
    private sealed record HealthReport(
        [property: System.Text.Json.Serialization.JsonPropertyName("status")] string Status,
        [property: System.Text.Json.Serialization.JsonPropertyName("model"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Model,
        [property: System.Text.Json.Serialization.JsonPropertyName("error"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Error,
        [property: System.Text.Json.Serialization.JsonPropertyName("queue"), System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] Scaling.QueueHealth? Queue = null);
}

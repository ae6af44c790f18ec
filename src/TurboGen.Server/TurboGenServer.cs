using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboGen.Runtime;
using TurboGen.Server.Api;
using TurboGen.Server.Generation;
using TurboGen.Server.Realtime;

namespace TurboGen.Server;

/// <summary>
/// The ASP.NET Core application: loads the model once (<see cref="ModelHost"/>), then serves the web app, the
/// real-time WebSocket, the OpenAI / AUTOMATIC1111 / native APIs, <c>/health</c> and <c>/metrics</c>.
/// A request goes: endpoint → <see cref="IGenerationService"/> (fair queue, one model worker) → TurboPipeline → pixels.
/// </summary>
public static class TurboGenServer
{
    /// <summary>Builds the app. <paramref name="modelFactory"/> lets tests inject a model instead of loading <see cref="ServerOptions.ModelPath"/>.</summary>
    public static WebApplication Build(ServerOptions options, Func<TurboModel>? modelFactory = null, Action<ILoggingBuilder>? logging = null)
    {
        options = options with { ApiKey = options.ApiKey ?? NullIfEmpty(Environment.GetEnvironmentVariable("TURBOGEN_API_KEY")) };
        if (!options.IsLoopback && string.IsNullOrEmpty(options.ApiKey))
        {
            throw new InvalidRequestException("api_key", $"Binding to {options.Host} exposes the server beyond this machine: set --api-key or TURBOGEN_API_KEY.");
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(TurboGenServer).Assembly.GetName().Name });
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':') && !options.Host.StartsWith('[') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        if (logging is not null) logging(builder.Logging);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton(sp => new ModelHost(options, sp.GetRequiredService<ServerMetrics>(), sp.GetRequiredService<ILogger<ModelHost>>(), modelFactory));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        builder.Services.AddCompatibleApis();

        var app = builder.Build();
        app.UseWebSockets();

        app.MapGet("/health", (ModelHost host) => host.State == "ready"
            ? Results.Json(new { status = "ready", model = host.Service!.Model.Id })
            : Results.Json(new { status = host.State, error = host.Error }, statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/metrics", (ServerMetrics metrics) => Results.Text(metrics.Render(), "text/plain; version=0.0.4"));
        app.MapCompatibleApis();
        app.MapRealtime();
        return app;
    }

    /// <summary>Builds and runs the server until <paramref name="cancellationToken"/> is cancelled.</summary>
    public static async Task RunAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        await using var app = Build(options);
        await app.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TurboGen.Server.Generation;
using TurboGen.Server.Styles;

namespace TurboGen.Server.Realtime;

/// <summary>
/// Maps the real-time experience: the web app at <c>/</c> (embedded static files), the session WebSocket <c>/ws</c>
/// (<see cref="RealtimeProtocol"/>), <c>GET /api/styles</c>, <c>GET /api/history</c> and <c>GET /api/history/{file}</c>.
/// </summary>
public static class RealtimeEndpoints
{
    private const string HubKey = "TurboGen.RealtimeHub";

    public static WebApplication MapRealtime(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<ServerOptions>();
        var hub = new RealtimeHub(app.Services.GetRequiredService<ModelHost>(), options, app.Services.GetRequiredService<ServerMetrics>(),
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TurboGen.Realtime"));
        ((IApplicationBuilder)app).Properties[HubKey] = hub;
        var stopping = app.Lifetime.ApplicationStopping;

        app.Map("/ws", async (HttpContext context) =>
        {
            hub.Metrics.Request("ws");
            if (RealtimeAccess.Check(context, options, browserSocket: true) is { } denied)
            {
                await denied.ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await Results.Json(new { error = new { message = "/ws expects a WebSocket upgrade." } }, statusCode: StatusCodes.Status400BadRequest)
                    .ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            await hub.RunSessionAsync(socket, aborted.Token).ConfigureAwait(false);
        }).ExcludeFromDescription();

        app.MapGet("/api/styles", (HttpContext context) =>
        {
            hub.Metrics.Request("styles");
            return RealtimeAccess.Check(context, options) ?? Results.Json(
                StylePresets.Default.All.Select(s => new { id = s.Id, name = s.Name, prompt = s.Prompt, negative = s.Negative }));
        });

        app.MapGet("/api/history", (HttpContext context, int? limit) =>
        {
            hub.Metrics.Request("history");
            return RealtimeAccess.Check(context, options) ?? Results.Json(hub.History.List(Math.Clamp(limit ?? 50, 1, 500)), RealtimeProtocol.Json);
        });

        app.MapGet("/api/history/{file}", (HttpContext context, string file, bool? download) =>
        {
            hub.Metrics.Request("history_file");
            if (RealtimeAccess.Check(context, options) is { } denied) return denied;
            string? path = hub.History.Resolve(file);
            if (path is null) return Results.Json(new { error = new { message = $"No kept image named '{file}'.", field = "file" } }, statusCode: StatusCodes.Status404NotFound);
            return Results.File(path, "image/png", download == true ? file : null);
        });

        var assets = WebAssets.Load(typeof(RealtimeEndpoints).Assembly);
        foreach (var (path, asset) in assets.Files)
        {
            IResult Serve(HttpContext context)
            {
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers.ETag = asset.ETag;
                if (context.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
                return Results.Bytes(asset.Bytes, asset.ContentType);
            }
            app.MapGet(path, Serve).ExcludeFromDescription();
            if (path == "/index.html") app.MapGet("/", Serve).ExcludeFromDescription();
        }
        return app;
    }

    /// <summary>The hub created by <see cref="MapRealtime"/> (tests and diagnostics).</summary>
    public static RealtimeHub GetRealtimeHub(this WebApplication app) =>
        (RealtimeHub)((IApplicationBuilder)app).Properties[HubKey]!;
}

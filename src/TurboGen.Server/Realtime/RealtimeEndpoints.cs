using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using TurboGen.Server.Api;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Realtime;

/// <summary>
/// Maps the real-time experience: the web app at <c>/</c> (embedded static files, open), the session WebSocket <c>/ws</c>,
/// <c>GET /api/styles</c>, <c>GET /api/history</c> and <c>GET /api/history/{file}</c>. The API key is checked before any of
/// them by the server's one key policy (<see cref="ApiKeyPolicy"/>); <c>?key=</c> is accepted on <c>/ws</c> and kept-image
/// links, which browsers load without headers.
/// </summary>
public static class RealtimeEndpoints
{
    private static readonly JsonSerializerOptions HistoryJson = new(JsonSerializerDefaults.Web);

    /// <summary>Registers the sessions registry. Call before <c>Build()</c>.</summary>
    public static IServiceCollection AddRealtime(this IServiceCollection services) => services.AddSingleton<RealtimeSessions>();

    public static WebApplication MapRealtime(this WebApplication app)
    {
        var stopping = app.Lifetime.ApplicationStopping;

        app.Map("/ws", async (HttpContext context, RealtimeSessions sessions, ApiKeyPolicy keys, ServerMetrics metrics) =>
        {
            metrics.Request("ws");
            if (keys.ForeignOrigin(context) is { } origin)
            {
                await Error(StatusCodes.Status403Forbidden, $"WebSocket connections from {origin} are not allowed.", "origin").ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await Error(StatusCodes.Status400BadRequest, "/ws expects a WebSocket upgrade.", null).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            await sessions.RunAsync(socket, aborted.Token).ConfigureAwait(false);
        }).WithMetadata(QueryKeyAccepted.Instance).ExcludeFromDescription();

        app.MapGet("/api/styles", (StylePresets styles, ServerMetrics metrics) =>
        {
            metrics.Request("styles");
            return Results.Json(styles.All, HistoryJson);
        });

        app.MapGet("/api/history", (OutputHistory history, ServerMetrics metrics, int? limit) =>
        {
            metrics.Request("history");
            return Results.Json(history.List(Math.Clamp(limit ?? 50, 1, 500)), HistoryJson);
        });

        app.MapGet("/api/history/{file}", (OutputHistory history, ServerMetrics metrics, string file, bool? download) =>
        {
            metrics.Request("history_file");
            string? path = history.Resolve(file);
            return path is null
                ? Error(StatusCodes.Status404NotFound, $"No kept image named '{file}'.", "file")
                : Results.File(path, "image/png", download == true ? file : null);
        }).WithMetadata(QueryKeyAccepted.Instance);

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
            app.MapGet(path, Serve).WithMetadata(OpenAccess.Instance).ExcludeFromDescription();
            if (path == "/index.html") app.MapGet("/", Serve).WithMetadata(OpenAccess.Instance).ExcludeFromDescription();
        }
        return app;
    }

    /// <summary>Errors in the native API's shape (the OpenAI error object), like every other <c>/api</c> endpoint.</summary>
    private static IResult Error(int status, string message, string? field) =>
        OpenAiErrorFormat.Instance.Render(new ApiProblem(status, status == 404 ? "not_found" : "invalid_request", null, field, message));
}

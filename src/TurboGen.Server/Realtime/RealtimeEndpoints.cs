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
/// Maps the real-time experience: the web app at <c>/</c> (embedded static files, open), the session WebSocket <c>/ws</c>
/// (its kept images go to the client's history, <see cref="HistoryOwner"/>), <c>GET /api/styles</c> and the history
/// endpoints (<see cref="HistoryEndpoints"/>). The API key is checked before any of them by the server's one key policy
/// (<see cref="ApiKeyPolicy"/>); <c>?key=</c> is accepted on <c>/ws</c> and kept-image links, which browsers load without headers.
/// </summary>
public static class RealtimeEndpoints
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

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
            HistoryOwner owner;
            try
            {
                owner = HistoryOwner.From(context.Request);
            }
            catch (InvalidRequestException e)
            {
                await Error(StatusCodes.Status400BadRequest, e.Message, e.Parameter).ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
            using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            await sessions.RunAsync(socket, owner, aborted.Token).ConfigureAwait(false);
        }).WithMetadata(QueryKeyAccepted.Instance).ExcludeFromDescription();

        app.MapGet("/api/styles", (StylePresets styles, ServerMetrics metrics) =>
        {
            metrics.Request("styles");
            return Results.Json(styles.All, WebJson);
        });

        app.MapHistory();

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

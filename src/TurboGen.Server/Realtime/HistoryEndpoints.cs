using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TurboGen.Server.Api;
using TurboGen.Server.Api.OpenAi;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Realtime;

/// <summary>
/// The kept images of the requesting owner (<see cref="HistoryOwner"/>: the web app's client id, else the shared folder):
/// <list type="bullet">
/// <item><c>GET /api/history[?limit=N]</c>: newest first, with the parameters actually used;</item>
/// <item><c>GET /api/history/{file}[?download=true]</c>: the PNG;</item>
/// <item><c>DELETE /api/history/{file}</c>: 204;</item>
/// <item><c>DELETE /api/history[?favourites=true]</c>: clears the history (favourites stay unless asked): <c>{"deleted": n}</c>;</item>
/// <item><c>PUT</c> / <c>DELETE /api/history/{file}/favourite</c>: marks / unmarks a favourite (evicted last), answers the entry.</item>
/// </list>
/// Another owner's file is a 404, as a missing one is. Errors use the OpenAI error object (<see cref="ApiGuard"/>).
/// </summary>
public static class HistoryEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapHistory(this WebApplication app)
    {
        var group = app.MapGroup("/api/history").AddEndpointFilter(new ApiGuard(OpenAiErrorFormat.Instance)).WithTags("History");

        group.MapGet("", (HttpRequest request, OutputHistory history, int? limit) =>
            Results.Json(history.List(HistoryOwner.From(request), Math.Clamp(limit ?? 50, 1, 500)), Json));

        group.MapDelete("", (HttpRequest request, OutputHistory history, bool? favourites) =>
            Results.Json(new ClearResult(history.Clear(HistoryOwner.From(request), favourites == true)), Json));

        group.MapGet("/{file}", (HttpRequest request, OutputHistory history, string file, bool? download) =>
            history.Resolve(HistoryOwner.From(request), file) is { } path
                ? Results.File(path, "image/png", download == true ? file : null)
                : NotFound(file)).WithMetadata(QueryKeyAccepted.Instance);

        group.MapDelete("/{file}", (HttpRequest request, OutputHistory history, string file) =>
            history.Delete(HistoryOwner.From(request), file) ? Results.NoContent() : NotFound(file));

        group.MapPut("/{file}/favourite", (HttpRequest request, OutputHistory history, string file) =>
            history.SetFavourite(HistoryOwner.From(request), file, true) is { } entry ? Results.Json(entry, Json) : NotFound(file));

        group.MapDelete("/{file}/favourite", (HttpRequest request, OutputHistory history, string file) =>
            history.SetFavourite(HistoryOwner.From(request), file, false) is { } entry ? Results.Json(entry, Json) : NotFound(file));
    }

    private static IResult NotFound(string file) =>
        OpenAiErrorFormat.Instance.Render(new ApiProblem(StatusCodes.Status404NotFound, "not_found", null, "file", $"No kept image named '{file}'."));

    /// <summary><c>DELETE /api/history</c>'s answer.</summary>
    public sealed record ClearResult(int Deleted);
}

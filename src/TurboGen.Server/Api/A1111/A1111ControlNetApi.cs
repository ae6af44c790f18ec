using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// The A1111 ControlNet extension's own endpoints under <c>/controlnet</c>, so its clients find the models and modules:
/// <c>model_list</c> (the server's ControlNets usable with the loaded model), <c>module_list</c> (the preprocessors, with their
/// sliders in <c>module_detail</c>), <c>detect</c> (a module's detected maps), <c>version</c> (API version 2) and <c>settings</c> (the unit count). Errors use A1111's shape.
/// </summary>
public static class A1111ControlNetApi
{
    /// <summary>Most ControlNet units one request may use (<c>control_net_unit_count</c>).</summary>
    public const int MaxUnits = 4;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/controlnet").AddEndpointFilter(new ApiGuard(A1111ErrorFormat.Instance)).WithMetadata(A1111ErrorFormat.Instance)
            .WithTags("AUTOMATIC1111 ControlNet");
        api.MapGet("/model_list", (ModelHost host, bool? update) =>
                Results.Json(new A1111ControlNetModels(host.ControlNets.All.Where(c => c.Unusable is null).Select(c => c.Name).ToList()), A1111Json.Options))
            .WithSummary("The ControlNets this server was started with (serve --controlnet) that fit the loaded model; \"update\" is accepted and ignored.")
            .Produces<A1111ControlNetModels>();
        api.MapGet("/module_list", (bool? alias_names) =>
            {
                var names = A1111ControlNet.Modules.Select(m => alias_names == true ? m.Alias ?? m.Name : m.Name).ToList();
                var detail = A1111ControlNet.Modules.ToDictionary(m => alias_names == true ? m.Alias ?? m.Name : m.Name,
                    m => new A1111ModuleDetail(ModelFree: false, m.Sliders));
                return Results.Json(new A1111ControlNetModules(names, detail), A1111Json.Options);
            })
            .WithSummary("The preprocessor modules TurboGen runs (none, canny, invert, scribble, lineart) with their sliders.")
            .Produces<A1111ControlNetModules>();
        api.MapPost("/detect", async (HttpContext http, CancellationToken ct) =>
            {
                var body = await ApiRequests.ReadJsonAsync<Dictionary<string, System.Text.Json.JsonElement>>(http.Request, A1111Json.Options, ct).ConfigureAwait(false);
                var maps = A1111ControlNet.Detect(body);
                var images = maps.Select(m => Convert.ToBase64String(TurboGen.Imaging.ImageCodec.EncodePng(m))).ToList();
                return Results.Json(new A1111DetectResponse(images, "Success"), A1111Json.Options);
            })
            .WithSummary("Run a preprocessor module on images (controlnet_module, controlnet_input_images, controlnet_processor_res, controlnet_threshold_a/b) and return the detected maps.")
            .Accepts<object>("application/json").Produces<A1111DetectResponse>();
        api.MapGet("/version", () => Results.Json(new { version = 2 }, A1111Json.Options)).WithSummary("The extension API version TurboGen follows (2).");
        api.MapGet("/settings", () => Results.Json(new { control_net_unit_count = MaxUnits }, A1111Json.Options))
            .WithSummary("How many ControlNet units a request may use.");
    }
}

public sealed record A1111ControlNetModels([property: JsonPropertyName("model_list")] IReadOnlyList<string> ModelList);

public sealed record A1111ControlNetModules(
    [property: JsonPropertyName("module_list")] IReadOnlyList<string> ModuleList,
    [property: JsonPropertyName("module_detail")] IReadOnlyDictionary<string, A1111ModuleDetail> ModuleDetail);

public sealed record A1111ModuleDetail(
    [property: JsonPropertyName("model_free")] bool ModelFree,
    [property: JsonPropertyName("sliders")] IReadOnlyList<A1111Slider> Sliders);

public sealed record A1111DetectResponse(
    [property: JsonPropertyName("images")] IReadOnlyList<string> Images,
    [property: JsonPropertyName("info")] string Info);

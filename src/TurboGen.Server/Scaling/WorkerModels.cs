using System.Text.Json.Serialization;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Server.Generation;
using TurboGen.Tensors;
using TurboGen.Upscaling;

namespace TurboGen.Server.Scaling;

/// <summary>A worker's ControlNet as its heartbeat lists it: the name jobs use and the facts a gateway checks requests with.</summary>
public sealed record WireControlNet(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sdxl")] bool UsesTextTime,
    [property: JsonPropertyName("text_width")] int CrossAttentionDim,
    [property: JsonPropertyName("residuals")] int DownResidualCount);

/// <summary>A worker's ESRGAN upscaler as its heartbeat lists it.</summary>
public sealed record WireUpscaler(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("scale")] int? NativeScale);

/// <summary>
/// A worker's ControlNet seen from a gateway: its name and shape facts (so requests are mapped and checked as in one process),
/// no weights. The job names it, and runs on a worker that has it loaded; it never predicts here.
/// </summary>
public sealed record RemoteControlNet(string Name, bool UsesTextTime, int CrossAttentionDim, int DownResidualCount) : IControlNet
{
    public string Path => $"'{Name}' (on the workers)";

    public Timed<ControlResiduals> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds,
        FloatTensor controlImage, float scale, CancellationToken cancellationToken) =>
        throw new InvalidOperationException($"ControlNet {Path} runs on a worker, not on the gateway.");
}

/// <summary>A worker's ESRGAN upscaler seen from a gateway: listed and chosen by name, run on a worker that has it.</summary>
public sealed record RemoteUpscaler(string Name, int? NativeScale) : IUpscaler
{
    public RgbImage Upscale(RgbImage image, int width, int height, CancellationToken cancellationToken = default, IProgress<(int Done, int Total)>? progress = null) =>
        throw new InvalidOperationException($"Upscaler '{Name}' runs on a worker, not on the gateway.");
}

/// <summary>What the live workers of a model have loaded besides the model, as a gateway lists and routes by it.</summary>
public static class WorkerModels
{
    /// <summary>The ControlNets any live worker has (first listing wins a name), as the gateway's set.</summary>
    public static ControlNetSet ControlNets(IReadOnlyList<WorkerInfo> workers) => new(workers.SelectMany(w => w.ControlNets ?? [])
        .DistinctBy(c => c.Name, StringComparer.OrdinalIgnoreCase).OrderBy(c => c.Name, StringComparer.Ordinal)
        .Select(c => new ControlNetSet.Entry(c.Name, new RemoteControlNet(c.Name, c.UsesTextTime, c.CrossAttentionDim, c.DownResidualCount),
            c.UsesTextTime ? "sdxl" : "sd", null)));

    /// <summary>Lanczos plus the ESRGAN upscalers any live worker has, as the gateway's set.</summary>
    public static UpscalerSet Upscalers(IReadOnlyList<WorkerInfo> workers) => new(workers.SelectMany(w => w.Upscalers ?? [])
        .DistinctBy(u => u.Name, StringComparer.OrdinalIgnoreCase).OrderBy(u => u.Name, StringComparer.Ordinal)
        .Where(u => !u.Name.Equals(LanczosUpscaler.UpscalerName, StringComparison.OrdinalIgnoreCase))
        .Select(u => new RemoteUpscaler(u.Name, u.NativeScale)));

    /// <summary>The ControlNet and upscaler names a job needs a worker to have (empty: any worker).</summary>
    public static IReadOnlyList<string> Needs(Pipelines.GenerationRequest? request, JobArgs args) =>
        Needs((request?.Controls ?? []).Select(c => c.ControlNet.Name), args);

    /// <summary>What a queued job needs (<see cref="Needs(Pipelines.GenerationRequest?, JobArgs)"/>), read from its entry's request JSON and args.</summary>
    public static IReadOnlyList<string> Needs(string requestJson, JobArgs args) =>
        Needs(string.IsNullOrEmpty(requestJson) ? [] : RequestCodec.ControlNetNames(requestJson), args);

    private static IReadOnlyList<string> Needs(IEnumerable<string> controlNets, JobArgs args)
    {
        var needs = controlNets.Select(name => "controlnet:" + name).ToList();
        if (args.Upscaler is { } upscaler && !upscaler.Equals(LanczosUpscaler.UpscalerName, StringComparison.OrdinalIgnoreCase)
            && !upscaler.Equals(UpscalerSet.NoneName, StringComparison.OrdinalIgnoreCase)) needs.Add("upscaler:" + upscaler);
        return needs;
    }

    /// <summary>The needs in words, for messages: <c>controlnet 'x' and upscaler 'y'</c>.</summary>
    public static string Describe(IReadOnlyList<string> needs) =>
        string.Join(" and ", needs.Select(n => n.Replace(":", " '", StringComparison.Ordinal) + "'"));

    /// <summary>True when <paramref name="worker"/> has everything in <paramref name="needs"/> (<see cref="Needs(Pipelines.GenerationRequest?, JobArgs)"/>).</summary>
    public static bool Has(WorkerInfo worker, IReadOnlyList<string> needs) => needs.All(n =>
        n.StartsWith("controlnet:", StringComparison.Ordinal)
            ? (worker.ControlNets ?? []).Any(c => c.Name.Equals(n["controlnet:".Length..], StringComparison.OrdinalIgnoreCase))
            : (worker.Upscalers ?? []).Any(u => u.Name.Equals(n["upscaler:".Length..], StringComparison.OrdinalIgnoreCase)));
}

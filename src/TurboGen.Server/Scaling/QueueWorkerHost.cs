using StackExchange.Redis;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>
/// <c>turbogen worker</c>: loads the model as <see cref="ModelHost"/> does (warm-up included, which also gives the first
/// job-time estimate for the lease), its upscalers and ControlNets, then serves the queue until cancelled.
/// </summary>
public static class QueueWorkerHost
{
    /// <param name="ready">Called once the model is loaded and the worker is registered, with its id.</param>
    public static async Task RunAsync(ServerOptions options, QueueAddress address, QueueWorkerSettings settings,
        Action<string> log, CancellationToken cancellationToken, Action<string>? ready = null, Func<TurboModel>? modelFactory = null)
    {
        using var model = modelFactory?.Invoke() ?? TurboModel.Load(options.ModelPath, new ModelLoadOptions { Runtime = options.Runtime, TinyVaePath = options.TinyVaePath });
        var pipeline = new TurboPipeline(model);
        TimeSpan? warmUpTime = null;
        if (options.WarmUp)
        {
            var warm = pipeline.Generate(new GenerationRequest { Prompt = "warm-up", Seed = 0, UseTinyVae = model.TinyVaeDecoder is not null }, null, cancellationToken);
            warmUpTime = TimeSpan.FromMilliseconds(warm.Timings.TotalMilliseconds);
        }
        using var upscalers = new UpscalerSet(options.UpscalerPaths.Select(path =>
            new TurboGen.Upscaling.EsrganUpscaler(TurboGen.Upscaling.EsrganModel.Load(path, options.Runtime))).ToList());
        // The ControlNets of options.ControlNets (serve's --controlnet, by the same names), checked against the model.
        using var controlNets = ControlNetSet.Load(options.ControlNets, model, options.Runtime, cancellationToken);
        foreach (var unusable in controlNets.All.Where(c => c.Unusable is not null)) log(unusable.Unusable!);
        var names = Policy.ModelNames.For(options);
        using var local = new GenerationWorker(pipeline, names[0], capacity: 2, names: names, initialJobTime: warmUpTime);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(address.Configuration()).ConfigureAwait(false);
        var worker = new QueueWorker(redis, local, upscalers, controlNets, settings with { Provider = options.Runtime.Provider }, log);
        var run = worker.RunAsync(cancellationToken);
        ready?.Invoke(settings.WorkerId);
        await run.ConfigureAwait(false);
    }
}

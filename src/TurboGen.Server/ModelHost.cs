using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Server.Generation;

namespace TurboGen.Server;

/// <summary>
/// Loads the model once in the background when the server starts, warms it up, then exposes the shared
/// <see cref="IGenerationService"/>. Until then <see cref="Service"/> is null and endpoints answer 503 "loading".
/// </summary>
public sealed class ModelHost(ServerOptions options, ServerMetrics metrics, ILogger<ModelHost> logger, TimeProvider clock, Func<TurboModel>? modelFactory = null)
    : BackgroundService
{
    private volatile GenerationWorker? _worker;
    private volatile IGenerationService? _queued;
    private Scaling.QueueGateway? _gateway;
    private TurboModel? _model;

    /// <summary>The local model worker, or with <see cref="ServerOptions.Queue"/> the gateway's queued service; null until ready.</summary>
    public IGenerationService? Service => (IGenerationService?)_worker ?? _queued;

    /// <summary>The job queue link of a gateway (<see cref="ServerOptions.Queue"/>), else null.</summary>
    public Scaling.QueueGateway? Gateway => _gateway;

    /// <summary>Lanczos plus the ESRGAN models of <see cref="ServerOptions.UpscalerPaths"/> (loaded with the model).
    /// A gateway's are those of its live workers (<see cref="Scaling.QueueGateway.Upscalers"/>).</summary>
    public Generation.UpscalerSet Upscalers => _gateway?.Upscalers ?? _upscalers ?? Generation.UpscalerSet.LanczosOnly;
    private Generation.UpscalerSet? _upscalers;

    /// <summary>
    /// The ControlNets of <see cref="ServerOptions.ControlNets"/> (loaded and checked with the model; empty until then); a
    /// gateway's are those of its live workers (<see cref="Scaling.QueueGateway.ControlNets"/>).
    /// </summary>
    public Generation.ControlNetSet ControlNets => _gateway?.ControlNets ?? _controlnets ?? Generation.ControlNetSet.Empty;
    private Generation.ControlNetSet? _controlnets;

    /// <summary>"loading", "warming", "ready" or "failed".</summary>
    public string State { get; private set; } = "loading";

    public string? Error { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.Queue is { } queue
        ? StartGuardedAsync(() => RunGatewayAsync(queue, stoppingToken), "Gateway start failed")
        : StartGuardedAsync(() => Task.Run(() => LoadModel(stoppingToken), stoppingToken), "Model load failed");

    /// <summary>
    /// Runs one way of becoming ready and turns its end into <see cref="State"/>: "stopped" when the host is shutting down,
    /// "failed" with <see cref="Error"/> (logged as <paramref name="failure"/>) for anything else. The server keeps answering
    /// (503 with the error) instead of crashing.
    /// </summary>
    private async Task StartGuardedAsync(Func<Task> start, string failure)
    {
        try
        {
            await start().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            State = "stopped";
        }
        catch (Exception e)
        {
            State = "failed";
            Error = e.Message;
            logger.LogError(e, "{Failure}", failure);
        }
    }

    /// <summary>Loads, warms up and starts the local model worker with its upscalers and ControlNets.</summary>
    private void LoadModel(CancellationToken stoppingToken)
    {
        _model = modelFactory?.Invoke() ?? TurboModel.Load(options.ModelPath, new ModelLoadOptions { Runtime = options.Runtime, TinyVaePath = options.TinyVaePath });
        var pipeline = new TurboPipeline(_model);
        TimeSpan? warmUpTime = null;
        if (options.WarmUp)
        {
            State = "warming";
            var warm = pipeline.Generate(new GenerationRequest { Prompt = "warm-up", Seed = 0, UseTinyVae = _model.TinyVaeDecoder is not null }, null, stoppingToken);
            if (_model.TinyVaeDecoder is not null) pipeline.Decode(warm.Latents, tinyVae: false, new StageTimings(), stoppingToken);
            logger.LogInformation("Warm-up done: {Timings}", warm.Timings);
            warmUpTime = TimeSpan.FromMilliseconds(warm.Timings.TotalMilliseconds); // Retry-After's estimate until jobs are measured
        }
        _upscalers = new Generation.UpscalerSet(options.UpscalerPaths.Select(path =>
            new TurboGen.Upscaling.EsrganUpscaler(TurboGen.Upscaling.EsrganModel.Load(path, options.Runtime))).ToList());
        foreach (var upscaler in _upscalers.All) logger.LogInformation("Upscaler {Upscaler} ready", upscaler.Name);
        _controlnets = Generation.ControlNetSet.Load(options.ControlNets, _model, options.Runtime, stoppingToken);
        foreach (var c in _controlnets.All) logger.LogInformation("ControlNet {ControlNet} ({Family}) {State}", c.Name, c.Family, c.Unusable ?? "ready");
        var names = Policy.ModelNames.For(options);
        _worker = new GenerationWorker(pipeline, names[0], options.QueueCapacity, metrics, clock, names, warmUpTime);
        State = "ready";
        logger.LogInformation("Model {Model} ready (answers to {Names})", names[0], string.Join(", ", names));
    }

    /// <summary>A gateway loads no model: it connects to the queue and waits until a worker has registered the model.</summary>
    private async Task RunGatewayAsync(Scaling.QueueAddress queue, CancellationToken stoppingToken)
    {
        _gateway = await Scaling.QueueGateway.ConnectAsync(queue, logger).ConfigureAwait(false);
        string? said = null;
        var service = await _gateway.ServeAsync(options.QueueModel, options.QueueCapacity, metrics, clock, reason =>
        {
            Error = reason;
            if (reason != said) logger.LogInformation("Gateway waiting: {Reason}", reason);
            said = reason;
        }, stoppingToken).ConfigureAwait(false);
        Error = null;
        _queued = service;
        State = "ready";
        logger.LogInformation("Gateway serving {Model} from the job queue {Queue} (answers to {Names})", service.Model.Id, queue, string.Join(", ", service.Model.Names));
    }

    private int _disposed;

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _worker?.Dispose();
        _gateway?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _upscalers?.Dispose();
        _controlnets?.Dispose();
        _model?.Dispose();
        base.Dispose();
    }
}

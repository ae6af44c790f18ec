using System.Diagnostics;
using TurboGen.Models;
using TurboGen.Pipelines;

namespace TurboGen.Cli;

/// <summary>What <see cref="Benchmark.Run"/> measures.</summary>
internal sealed record BenchSettings(LocatedModel Model, ModelLoadOptions LoadOptions, GenerationRequest Request, int Warmup, int Runs);

/// <summary>
/// Measures a model the way a user experiences it.
/// <para>How it works: a cold start loads the model (the first load in the process: ONNX Runtime initialisation and
/// reading the weights) and times the first generation (lazy allocations); then <c>Warmup</c> untimed runs and
/// <c>Runs</c> timed runs, each with the prompt-embedding cache cleared so the text encoders are measured every time
/// (seed + i per run). Per-stage times come from the pipeline's <see cref="StageTimings"/> (tokenize, each encoder,
/// each UNet step, VAE encode/decode) and are summarised with median, mean, min/max and p10/p90. Finally the model
/// is disposed and loaded again (a warm start: file cache and runtime already warm) and generates once more. The
/// peak is the process's peak working set.</para>
/// </summary>
internal static class Benchmark
{
    public static BenchReport Run(BenchSettings settings, Action<string> log, CancellationToken ct)
    {
        var request = settings.Request with { Seed = settings.Request.Seed ?? 42 };
        log("cold start: loading the model...");
        var cold = Start(settings, request, ct, out var model);
        var runs = new List<StageTimings>();
        var walls = new List<double>();
        using (model)
        {
            var pipeline = new TurboPipeline(model);
            for (int i = 0; i < settings.Warmup + settings.Runs; i++)
            {
                ct.ThrowIfCancellationRequested();
                bool timed = i >= settings.Warmup;
                log(timed ? $"run {i - settings.Warmup + 1}/{settings.Runs}" : $"warm-up {i + 1}/{settings.Warmup}");
                pipeline.Cache.Clear();
                var clock = Stopwatch.StartNew();
                var result = pipeline.Generate(request with { Seed = request.Seed + i + 1 }, null, ct);
                if (timed)
                {
                    walls.Add(clock.Elapsed.TotalMilliseconds);
                    runs.Add(result.Timings);
                }
            }
        }
        log("warm start: loading the model again...");
        var warm = Start(settings, request, ct, out var reloaded);
        reloaded.Dispose();

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var stages = runs.SelectMany(r => r.Stages.Select(s => s.Stage)).Distinct().Select(stage => new BenchStage(
            stage,
            Summary.Of(runs.Select(r => r[stage]).ToList()),
            Summary.Of(runs.Select(r => r.Stages.Where(s => s.Stage == stage).Sum(s => s.OnnxMilliseconds)).ToList()))).ToList();
        var total = Summary.Of(walls);
        var r0 = settings.Request;
        return new BenchReport(settings.Model.Name, settings.Model.Folder, settings.LoadOptions.Runtime.Provider,
            settings.LoadOptions.Runtime.Threads > 0 ? settings.LoadOptions.Runtime.Threads : Hardware.PhysicalCores,
            cold.Width, cold.Height, r0.Steps, r0.BatchSize, r0.UseTinyVae,
            settings.Warmup, settings.Runs, cold, warm, total, stages, process.PeakWorkingSet64,
            r0.BatchSize * 1000.0 / Math.Max(total.Median, 1e-9));
    }

    private static StartTimes Start(BenchSettings settings, GenerationRequest request, CancellationToken ct, out TurboModel model)
    {
        var clock = Stopwatch.StartNew();
        model = TurboModel.Load(settings.Model.Folder, settings.LoadOptions);
        double loadMs = clock.Elapsed.TotalMilliseconds;
        try
        {
            clock.Restart();
            var result = new TurboPipeline(model).Generate(request, null, ct);
            double firstMs = clock.Elapsed.TotalMilliseconds;
            return new StartTimes(loadMs, firstMs, loadMs + firstMs) { Width = result.Width, Height = result.Height };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}

/// <summary>Model load, first generation, and their sum (time to first image).</summary>
internal sealed record StartTimes(double LoadMs, double FirstRunMs, double TimeToFirstImageMs)
{
    /// <summary>The image size generated (the model's default when the request left it open).</summary>
    [System.Text.Json.Serialization.JsonIgnore] public int Width { get; init; }

    [System.Text.Json.Serialization.JsonIgnore] public int Height { get; init; }
}

/// <summary>One pipeline stage over the timed runs: wall time and the part inside ONNX Runtime.</summary>
internal sealed record BenchStage(string Stage, Summary Ms, Summary OnnxMs);

/// <summary>The <c>bench</c> result (also its <c>--json</c> object).</summary>
internal sealed record BenchReport(string Model, string ModelPath, string Provider, int Threads, int Width, int Height, int Steps, int Batch,
    bool TinyVae, int Warmup, int Runs, StartTimes ColdStart, StartTimes WarmStart, Summary TotalMs, IReadOnlyList<BenchStage> Stages,
    long PeakWorkingSetBytes, double ImagesPerSecond);

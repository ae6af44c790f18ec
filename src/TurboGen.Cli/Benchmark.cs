using System.Diagnostics;
using TurboGen.Benchmarking;
using TurboGen.Graphs;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Cli;

/// <summary>What <see cref="Benchmark.Run"/> measures.</summary>
internal sealed record BenchSettings(LocatedModel Model, ModelLoadOptions LoadOptions, GenerationRequest Request, int Warmup, int Runs)
{
    /// <summary>Also measure the machine's fp32 GEMM ceiling (<see cref="GemmCeiling"/>) and report each stage as a fraction of it.</summary>
    public bool Ceiling { get; init; }
}

/// <summary>
/// Measures a model the way a user experiences it.
/// <para>How it works: a cold start loads the model (the first load in the process: ONNX Runtime initialisation and
/// reading the weights) and times the first generation (lazy allocations); then <c>Warmup</c> untimed runs and
/// <c>Runs</c> timed runs, each with the prompt-embedding cache cleared so the text encoders are measured every time
/// (seed + i per run). Per-stage times come from the pipeline's <see cref="StageTimings"/> (tokenize, each encoder,
/// each UNet step, VAE encode/decode) and are summarised with median, mean, min/max and p10/p90. Finally the model
/// is disposed and loaded again (a warm start: file cache and runtime already warm) and generates once more. The
/// peak is the process's peak working set, also given as a multiple of the loaded components' weight bytes.
/// Each stage's FLOPs are counted on its graph at the benchmark's shapes (<see cref="StageFlops"/>), giving GFLOP/s
/// over the time inside ONNX Runtime; with <see cref="BenchSettings.Ceiling"/> a large fp32 GEMM is timed first and each
/// stage is also a fraction of that rate. The pipeline overhead is (total wall − Σ ONNX Runtime time) / total wall.</para>
/// </summary>
internal static class Benchmark
{
    public static BenchReport Run(BenchSettings settings, Action<string> log, CancellationToken ct)
    {
        var request = settings.Request with { Seed = settings.Request.Seed ?? 42 };
        CeilingReport? ceiling = null;
        if (settings.Ceiling)
        {
            log("measuring the fp32 GEMM ceiling...");
            ceiling = MeasureCeiling(settings.LoadOptions.Runtime);
        }
        log("cold start: loading the model...");
        var cold = Start(settings, request, ct, out var model);
        var runs = new List<StageTimings>();
        var walls = new List<double>();
        Dictionary<string, FlopCount> flops;
        long weightBytes;
        using (model)
        {
            flops = StageFlops.Count(model, cold.Width, cold.Height, request.BatchSize, request.GuidanceScale > 1f);
            weightBytes = WeightBytes(model);
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
        var stages = runs.SelectMany(r => r.Stages.Select(s => s.Stage)).Distinct().Select(stage =>
        {
            var onnx = Summary.Of(runs.Select(r => r.Stages.Where(s => s.Stage == stage).Sum(s => s.OnnxMilliseconds)).ToList());
            var count = StageFlops.ForStage(flops, stage);
            double? gflop = count is null ? null : count.Total / 1e9;
            double? rate = gflop is { } g && onnx.Median > 0 ? g / (onnx.Median / 1000) : null;
            return new BenchStage(stage, Summary.Of(runs.Select(r => r[stage]).ToList()), onnx)
            {
                Gflop = gflop is { } v ? Math.Round(v, 1) : null,
                Gflops = rate is { } x ? Math.Round(x, 1) : null,
                CeilingFraction = rate is { } y && ceiling is not null ? Math.Round(y / ceiling.Gflops, 3) : null,
            };
        }).ToList();
        var total = Summary.Of(walls);
        var r0 = settings.Request;
        double onnxTotal = Summary.Of(runs.Select(r => r.OnnxMilliseconds).ToList()).Median;
        return new BenchReport(settings.Model.Name, settings.Model.Folder, settings.LoadOptions.Runtime.Provider,
            settings.LoadOptions.Runtime.Threads > 0 ? settings.LoadOptions.Runtime.Threads : Hardware.PhysicalCores,
            cold.Width, cold.Height, r0.Steps, r0.BatchSize, r0.UseTinyVae,
            settings.Warmup, settings.Runs, cold, warm, total, stages, process.PeakWorkingSet64,
            r0.BatchSize * 1000.0 / Math.Max(total.Median, 1e-9))
        {
            Ceiling = ceiling,
            OnnxMs = Math.Round(onnxTotal, 1),
            OverheadFraction = Math.Round((total.Median - onnxTotal) / total.Median, 4),
            WeightBytes = weightBytes,
            PeakOverWeights = weightBytes > 0 ? Math.Round((double)process.PeakWorkingSet64 / weightBytes, 3) : null,
        };
    }

    /// <summary>The fp32 GEMM rate at 2048³ and 4096³; the best is the ceiling.</summary>
    public static CeilingReport MeasureCeiling(RuntimeOptions runtime)
    {
        var rates = GemmCeiling.Measure(runtime);
        return new CeilingReport(rates, rates.Max(r => r.Gflops));
    }

    /// <summary>Bytes of the weight files next to each loaded component (model.onnx + external data).</summary>
    private static long WeightBytes(TurboModel model) => model.Components
        .Select(c => System.IO.Path.GetDirectoryName(c.Path)!)
        .Distinct(StringComparer.Ordinal)
        .Sum(dir => Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".onnx", StringComparison.Ordinal) || f.EndsWith(".onnx_data", StringComparison.Ordinal) || f.EndsWith(".onnx.data", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length));

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
internal sealed record BenchStage(string Stage, Summary Ms, Summary OnnxMs)
{
    /// <summary>Work of one run of the stage's graph (GFLOP, 2 per multiply-add), when the stage runs a model.</summary>
    public double? Gflop { get; init; }

    /// <summary>Achieved rate over the median time inside ONNX Runtime.</summary>
    public double? Gflops { get; init; }

    /// <summary><see cref="Gflops"/> / the measured GEMM ceiling (with --ceiling).</summary>
    public double? CeilingFraction { get; init; }
}

/// <summary>The measured fp32 GEMM rates and the ceiling (the best of them).</summary>
internal sealed record CeilingReport(IReadOnlyList<GemmRate> Gemms, double Gflops);

/// <summary>The <c>bench</c> result (also its <c>--json</c> object).</summary>
internal sealed record BenchReport(string Model, string ModelPath, string Provider, int Threads, int Width, int Height, int Steps, int Batch,
    bool TinyVae, int Warmup, int Runs, StartTimes ColdStart, StartTimes WarmStart, Summary TotalMs, IReadOnlyList<BenchStage> Stages,
    long PeakWorkingSetBytes, double ImagesPerSecond)
{
    public CeilingReport? Ceiling { get; init; }

    /// <summary>Median over the timed runs of the summed time inside ONNX Runtime.</summary>
    public double OnnxMs { get; init; }

    /// <summary>(median total wall − median ONNX time) / median total wall: what the pipeline adds around the models.</summary>
    public double OverheadFraction { get; init; }

    /// <summary>Bytes of the loaded components' model files (weights).</summary>
    public long WeightBytes { get; init; }

    /// <summary>Peak working set / weight bytes.</summary>
    public double? PeakOverWeights { get; init; }
}

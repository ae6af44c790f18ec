using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs;
using TurboGen.Runtime;

namespace TurboGen.Benchmarking;

/// <summary>One measured GEMM: its size and the best rate over the timed runs.</summary>
public sealed record GemmRate(int Size, double BestMilliseconds, double Gflops);

/// <summary>
/// The machine's practical fp32 ceiling as ONNX Runtime reaches it: a single square <c>MatMul</c> (activations [N,N] times a
/// constant weight [N,N], the shape of every Linear layer, so the weight is pre-packed like a model's) run through a session
/// made with the same <see cref="SessionFactory"/> options as the models. The rate is 2·N³ / the best of the timed runs: on a
/// shared machine the best run is the one that had the cores to itself, which is what the ceiling means.
/// </summary>
public static class GemmCeiling
{
    /// <summary>Measures each size (default 2048 and 4096) after one warm-up run; the caller takes the best as the ceiling.</summary>
    public static IReadOnlyList<GemmRate> Measure(RuntimeOptions runtime, IReadOnlyList<int>? sizes = null, int runs = 8)
    {
        sizes ??= [2048, 4096];
        var rates = new List<GemmRate>();
        foreach (int n in sizes)
        {
            var g = new GraphBuilder("gemm");
            var a = g.Input("a", ElementType.Float, n, n);
            var random = new Random(n);
            var w = new float[(long)n * n];
            for (int i = 0; i < w.Length; i++) w[i] = (float)(random.NextDouble() - 0.5);
            g.Output(g.MatMul(a, g.Weight("w", w, n, n)), "y", ElementType.Float, n, n);
            using var session = SessionFactory.Create(g.ToBytes(), runtime, $"{n}³ GEMM");
            var input = new float[(long)n * n];
            for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() - 0.5);
            using var value = OrtValue.CreateTensorValueFromMemory(input, [n, n]);
            using var options = new RunOptions();
            double best = double.MaxValue;
            for (int r = 0; r <= runs; r++)
            {
                var clock = Stopwatch.StartNew();
                using var outputs = session.Run(options, ["a"], [value], ["y"]);
                double ms = clock.Elapsed.TotalMilliseconds;
                if (r > 0) best = Math.Min(best, ms);
            }
            rates.Add(new GemmRate(n, best, 2.0 * n * n * n / (best * 1e6)));
        }
        return rates;
    }
}

using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Tiny but real ESRGAN (RRDBNet) checkpoints with the Real-ESRGAN key names and seeded random weights, for end-to-end
/// upscaling tests: 8 features, 1 block, growth 4 (≈ 9k parameters). Weights are N(0, 1/fan_in), biases N(0, 0.01²) and
/// conv_last is pulled towards a nearest-neighbour copy of the input so the output looks like an enlarged input.
/// </summary>
public static class TinyEsrgan
{
    public static readonly RrdbNetConfig X4 = new(3, 3, 4, 8, 1, 4);
    public static readonly RrdbNetConfig X2 = X4 with { Scale = 2 };

    /// <summary>Writes a checkpoint for <paramref name="config"/> to <paramref name="path"/>; <paramref name="wrapper"/> (e.g. "params_ema.") prefixes every key.</summary>
    public static string Write(string path, RrdbNetConfig config, int seed = 7, string wrapper = "")
    {
        var rng = new Random(seed);
        var tensors = new List<SafetensorsWriter.Tensor>();
        foreach (var (name, shape) in RrdbNet.ExpectedTensors(config).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            double std = name.EndsWith(".bias", StringComparison.Ordinal) ? 0.01 : 1.0 / Math.Sqrt(shape.Skip(1).Aggregate(1L, (a, b) => a * b));
            for (long i = 0; i < count; i++)
            {
                values[i] = (float)(std * Gaussian(rng));
            }
            tensors.Add(SafetensorsWriter.Tensor.FromArray(wrapper + name, SafetensorsDType.F32, shape, values));
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    /// <summary>A tiny ×4 (or ×2) checkpoint in a per-process temporary folder, named like the real file (<c>RealESRGAN_x4plus_tiny.safetensors</c>).</summary>
    public static string Get(int scale = 4)
    {
        lock (Files)
        {
            if (!Files.TryGetValue(scale, out string? path) || !File.Exists(path))
            {
                string dir = Path.Combine(Path.GetTempPath(), $"turbogen-tiny-esrgan-{Environment.ProcessId}");
                path = Write(Path.Combine(dir, $"RealESRGAN_x{scale}plus_tiny.safetensors"), scale == 2 ? X2 : X4, seed: 7 + scale, wrapper: "params_ema.");
                Files[scale] = path;
            }
            return path;
        }
    }

    private static readonly Dictionary<int, string> Files = [];

    /// <summary>The tiny ×4 / ×2 network built as an ONNX file named like the checkpoint (<c>RealESRGAN_x4plus_tiny.onnx</c>), in its own folder.</summary>
    public static string GetOnnx(int scale = 4)
    {
        lock (Files)
        {
            if (!Files.TryGetValue(-scale, out string? path) || !File.Exists(path))
            {
                string checkpoint = Get(scale);
                string dir = Path.Combine(Path.GetDirectoryName(checkpoint)!, $"onnx-x{scale}");
                string name = Path.GetFileNameWithoutExtension(checkpoint) + ".onnx";
                TurboGen.Upscaling.EsrganModel.Build(checkpoint, dir, fileName: name);
                path = Path.Combine(dir, name);
                Files[-scale] = path;
            }
            return path;
        }
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

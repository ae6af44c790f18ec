using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// What the SDXL / SD 2.1 UNet tests share: the golden cases <c>unet_sdxl_tiny</c> and <c>unet_sd21_tiny</c> (config, checkpoint,
/// inputs, expected output), ONNX Runtime sessions and runs with a timestep input, and the parity check.
/// </summary>
internal static class UnetTestSupport
{
    public const double Tolerance = 1e-4;
    public const string Sdxl = "unet_sdxl_tiny";
    public const string Sd21 = "unet_sd21_tiny";

    public static UnetConfig ConfigOf(string caseName) =>
        UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json")));

    /// <summary>The checkpoint key an initializer was made from (Linear weights are stored as "key.T", reshaped views as "key:AxB").</summary>
    public static string KeyOf(string initializer)
    {
        int colon = initializer.IndexOf(':', StringComparison.Ordinal);
        string key = colon >= 0 ? initializer[..colon] : initializer;
        return key.EndsWith(".T", StringComparison.Ordinal) ? key[..^2] : key;
    }

    public static SessionOptions NewOptions(int threads = 2) => new() { IntraOpNumThreads = threads, InterOpNumThreads = 1 };

    public static InferenceSession NewSession(byte[] model) => new(model, NewOptions());

    public static void AssertClose(ITestOutputHelper output, float[] expected, float[] actual, string what)
    {
        double rel = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {rel:E2}");
        Assert.True(rel <= Tolerance, $"{what}: relative error {rel:E3} > {Tolerance}");
    }

    public static float[] Run(InferenceSession session, IReadOnlyDictionary<string, Tensor> inputs, Tensor timestep)
    {
        using var results = RunRaw(session, inputs, timestep);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static IDisposableReadOnlyCollection<OrtValue> RunRaw(InferenceSession session, IReadOnlyDictionary<string, Tensor> inputs, Tensor timestep)
    {
        var all = inputs.Append(new KeyValuePair<string, Tensor>("timestep", timestep)).ToList();
        var values = all.Select(kv => kv.Value.ToOrtValue()).ToList();
        try
        {
            using var runOptions = new RunOptions();
            return session.Run(runOptions, all.Select(kv => kv.Key).ToList(), values, ["out_sample"]);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>A float32 or int64 tensor for an ORT input.</summary>
    public sealed record Tensor(float[]? Floats, long[] Shape, long[]? Longs = null)
    {
        public static Tensor Of(float[] scalarOrVector) => new(scalarOrVector, scalarOrVector.Length == 1 ? [] : [scalarOrVector.Length]);
        public static Tensor OfInt64(long[] values, long[] shape) => new(null, shape, values);

        public static Tensor Random(long[] shape, int seed)
        {
            var rng = new Random(seed);
            var data = new float[TensorShape.ElementCount(shape)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
            return new Tensor(data, shape);
        }

        /// <summary>Batch item <paramref name="b"/> of <paramref name="batch"/>, keeping a leading axis of 1.</summary>
        public Tensor Item(int b, int batch)
        {
            int size = Floats!.Length / batch;
            return new Tensor(Floats.AsSpan(b * size, size).ToArray(), [1, .. Shape[1..]]);
        }

        public OrtValue ToOrtValue() => Longs is not null
            ? OrtValue.CreateTensorValueFromMemory(Longs, Shape)
            : OrtValue.CreateTensorValueFromMemory(Floats!, Shape);
    }

    /// <summary>A golden UNet case: config, checkpoint path, inputs (without timestep) and expected output.</summary>
    public sealed class GoldenCase : IDisposable
    {
        private readonly GoldenTensors _outputs;

        private GoldenCase(string name)
        {
            string dir = TestPaths.GoldenCase(name);
            Config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(dir, "config.json")));
            WeightsPath = Path.Combine(dir, "diffusion_pytorch_model.safetensors");
            Reader = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
            _outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
            Expected = _outputs.Float("sample");
            using var caseJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json")));
            NumParameters = caseJson.RootElement.GetProperty("num_parameters").GetInt64();
        }

        public static GoldenCase Open(string name) => new(name);

        public UnetConfig Config { get; }
        public string WeightsPath { get; }
        public GoldenTensors Reader { get; }
        public float[] Expected { get; }
        public long NumParameters { get; }

        public SafetensorsCheckpoint Checkpoint() => new(WeightsPath);

        public Dictionary<string, Tensor> Inputs() => Reader.Names
            .Where(n => n != "timestep")
            .ToDictionary(n => n, n => new Tensor(Reader.Float(n), Reader.Shape(n)));

        public Tensor TimestepValue(TimestepInput variant)
        {
            float[] t = Reader.Float("timestep");
            return variant == TimestepInput.VectorInt64
                ? Tensor.OfInt64(t.Select(x => (long)x).ToArray(), [t.Length])
                : new Tensor(t, [t.Length]);
        }

        public void Dispose()
        {
            Reader.Dispose();
            _outputs.Dispose();
        }
    }
}

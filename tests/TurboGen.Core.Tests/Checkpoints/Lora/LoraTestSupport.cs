using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Checkpoints.Lora;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>How a test LoRA file names its tensors.</summary>
public enum TestLoraNaming
{
    /// <summary><c>lora_unet_…_to_q.lora_down.weight</c>, <c>.lora_up.weight</c>, <c>.alpha</c> tensor.</summary>
    Kohya,

    /// <summary><c>unet.….to_q.lora_A.weight</c>, <c>.lora_B.weight</c>; alpha in diffusers' <c>lora_adapter_metadata</c>.</summary>
    PeftWithMetadataAlpha,

    /// <summary><c>unet.….to_q.lora.down.weight</c>, <c>.lora.up.weight</c>, <c>.alpha</c> tensor (text encoders: <c>lora_linear_layer</c>).</summary>
    DiffusersDownUp,

    /// <summary>Old attention processors: <c>unet.….attn1.processor.to_q_lora.down.weight</c>, text encoders <c>….self_attn.to_q_lora.down.weight</c>; no alpha.</summary>
    AttentionProcessor,
}

/// <summary>One layer of a test LoRA: seeded random down [rank, in(, k, k)] and up [out, rank(, 1, 1)] for a base weight.</summary>
public sealed record TestLoraLayer(string Component, string Module, float[] Down, long[] DownShape, float[] Up, long[] UpShape, float? Alpha)
{
    public int Rank => (int)DownShape[0];
    public string BaseKey => Module + ".weight";

    /// <summary>
    /// Random factors for a base weight of shape <paramref name="weightShape"/> ([out, in] or [out, in, k, k]), scaled so the
    /// delta (alpha/rank)·up·down has about the magnitude of the weight itself (the outputs change clearly).
    /// </summary>
    public static TestLoraLayer Random(string component, string module, long[] weightShape, int rank, int seed, float? alpha = null)
    {
        var rng = new Random(seed);
        long[] downShape = [rank, .. weightShape[1..]];
        long[] upShape = weightShape.Length == 4 ? [weightShape[0], rank, 1, 1] : [weightShape[0], rank];
        long fanIn = TensorShape.ElementCount(downShape) / rank;
        float effective = (alpha ?? rank) / rank;
        float downRange = MathF.Sqrt(3f / fanIn), upRange = MathF.Sqrt(3f / rank) / effective;
        float[] down = Uniform(rng, TensorShape.ElementCount(downShape), downRange);
        float[] up = Uniform(rng, TensorShape.ElementCount(upShape), upRange);
        return new TestLoraLayer(component, module, down, downShape, up, upShape, alpha);
    }

    private static float[] Uniform(Random rng, long count, float range)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = range * (2f * rng.NextSingle() - 1f);
        return values;
    }

    /// <summary>Δ = (alpha/rank) · up · down as [out, rest], in double (independent of the product code).</summary>
    public double[] Delta()
    {
        int outFeatures = (int)UpShape[0], n = Down.Length / Rank;
        double factor = (double)(Alpha ?? Rank) / Rank;
        var delta = new double[outFeatures * n];
        for (int o = 0; o < outFeatures; o++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int r = 0; r < Rank; r++) sum += (double)Up[o * Rank + r] * Down[r * n + j];
                delta[o * n + j] = factor * sum;
            }
        }
        return delta;
    }
}

/// <summary>Writes test LoRA files, hand-merged checkpoints, and runs the golden tiny UNet / CLIP.</summary>
public static class LoraTestSupport
{
    public const string UnetCase = "unet_sdxl_tiny";
    public const string ClipCase = "clip_text_tiny";

    public static string UnetWeights => Path.Combine(TestPaths.GoldenCase(UnetCase), "diffusion_pytorch_model.safetensors");
    public static string ClipWeights => Path.Combine(TestPaths.GoldenCase(ClipCase), "model.safetensors");

    /// <summary>The shape of <paramref name="key"/> in the safetensors file <paramref name="path"/>.</summary>
    public static long[] ShapeIn(string path, string key)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Info(key).Shape;
    }

    /// <summary>Every key of the merged UNet against W + Σ scale · Δ (in double) for the adapted ones and the base bits for the rest.</summary>
    public static void AssertMerged(ICheckpointTensors baseWeights, ICheckpointTensors merged, params (TestLoraLayer[] Layers, float Scale)[] loras)
    {
        foreach (string key in baseWeights.Names.ToList())
        {
            float[] w = baseWeights.ReadFloat32(key), got = merged.ReadFloat32(key);
            var adapting = loras.SelectMany(l => l.Layers.Where(x => x.BaseKey == key).Select(x => (Layer: x, l.Scale))).ToList();
            if (adapting.Count == 0)
            {
                Assert.True(w.AsSpan().SequenceEqual(got), $"{key} changed but no LoRA targets it");
                continue;
            }
            var expected = w.Select(v => (double)v).ToArray();
            foreach (var (layer, scale) in adapting)
            {
                double[] delta = layer.Delta();
                for (int i = 0; i < expected.Length; i++) expected[i] += scale * delta[i];
            }
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - got[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{key}[{i}]: {got[i]} vs {expected[i]}");
            }
            Assert.NotEqual(w, got);
        }
    }

    public static TestLoraLayer UnetLayer(string module, int rank, int seed, float? alpha = null) =>
        TestLoraLayer.Random(LoraComponent.Unet, module, ShapeIn(UnetWeights, module + ".weight"), rank, seed, alpha);

    public static TestLoraLayer ClipLayer(string module, int rank, int seed, float? alpha = null, string component = LoraComponent.TextEncoder) =>
        TestLoraLayer.Random(component, module, ShapeIn(ClipWeights, module + ".weight"), rank, seed, alpha);

    /// <summary>Writes <paramref name="layers"/> as a LoRA safetensors file in <paramref name="naming"/>.</summary>
    public static string Write(string path, TestLoraNaming naming, params TestLoraLayer[] layers)
    {
        var tensors = new List<SafetensorsWriter.Tensor>();
        Dictionary<string, string>? metadata = null;
        foreach (var layer in layers)
        {
            var (down, up, alpha) = Names(naming, layer);
            tensors.Add(SafetensorsWriter.Tensor.FromArray(down, SafetensorsDType.F32, layer.DownShape, layer.Down));
            tensors.Add(SafetensorsWriter.Tensor.FromArray(up, SafetensorsDType.F32, layer.UpShape, layer.Up));
            if (layer.Alpha is float a && alpha is not null)
            {
                tensors.Add(SafetensorsWriter.Tensor.FromArray(alpha, SafetensorsDType.F32, [], new[] { a }));
            }
        }
        if (naming == TestLoraNaming.PeftWithMetadataAlpha)
        {
            // diffusers stores one lora_alpha per component (LoraConfig), plus alpha_pattern for modules that differ.
            var json = new Dictionary<string, object>();
            foreach (var group in layers.Where(l => l.Alpha is not null).GroupBy(l => l.Component))
            {
                if (layers.Any(l => l.Component == group.Key && l.Alpha is null))
                {
                    throw new ArgumentException("metadata alpha needs an alpha for every layer of a component");
                }
                json[group.Key + ".lora_alpha"] = group.First().Alpha!.Value;
                json[group.Key + ".alpha_pattern"] = group.Skip(1).ToDictionary(l => l.Module, l => l.Alpha!.Value);
            }
            metadata = new Dictionary<string, string> { ["format"] = "pt", [LoraAdapter.AdapterMetadataKey] = JsonSerializer.Serialize(json) };
        }
        SafetensorsWriter.Write(path, tensors, metadata);
        return path;
    }

    private static (string Down, string Up, string? Alpha) Names(TestLoraNaming naming, TestLoraLayer layer)
    {
        bool text = layer.Component != LoraComponent.Unet;
        switch (naming)
        {
            case TestLoraNaming.Kohya:
                string prefix = layer.Component switch
                {
                    LoraComponent.Unet => "lora_unet_",
                    LoraComponent.TextEncoder => "lora_te1_",
                    _ => "lora_te2_",
                };
                string stem = prefix + layer.Module.Replace('.', '_');
                return (stem + ".lora_down.weight", stem + ".lora_up.weight", stem + ".alpha");
            case TestLoraNaming.PeftWithMetadataAlpha:
                string p = $"{layer.Component}.{layer.Module}";
                return (p + ".lora_A.weight", p + ".lora_B.weight", null);
            case TestLoraNaming.DiffusersDownUp:
                string d = $"{layer.Component}.{layer.Module}" + (text ? ".lora_linear_layer" : ".lora");
                return (d + ".down.weight", d + ".up.weight", $"{layer.Component}.{layer.Module}.alpha");
            default:
                int dot = layer.Module.LastIndexOf('.');
                string parent = layer.Module[..dot], proj = layer.Module[(dot + 1)..];
                if (proj == "0" && parent.EndsWith(".to_out", StringComparison.Ordinal))
                {
                    (parent, proj) = (parent[..^".to_out".Length], "to_out");
                }
                string name = proj switch
                {
                    "q_proj" => "to_q", "k_proj" => "to_k", "v_proj" => "to_v", "out_proj" => "to_out",
                    "to_q" or "to_k" or "to_v" or "to_out" => proj,
                    _ => throw new ArgumentException($"{layer.Module} is not an attention projection"),
                };
                string o = $"{layer.Component}.{parent}{(text ? "" : ".processor")}.{name}_lora";
                if (layer.Alpha is not null) throw new ArgumentException("attention-processor LoRAs have no alpha");
                return (o + ".down.weight", o + ".up.weight", null);
        }
    }

    /// <summary>
    /// Copies <paramref name="basePath"/> with W + Σ scale·Δ added (in double) to every weight the LoRAs of
    /// <paramref name="component"/> adapt — the reference the merged build must match.
    /// </summary>
    public static string WriteHandMerged(string basePath, string path, string component, params (TestLoraLayer[] Layers, float Scale)[] loras)
    {
        using var file = SafetensorsFile.Open(basePath);
        var tensors = new List<SafetensorsWriter.Tensor>();
        foreach (var info in file.Tensors.Values.OrderBy(t => t.Begin))
        {
            float[] values = file.ReadFloat32(info.Name);
            var merged = values.Select(v => (double)v).ToArray();
            foreach (var (layers, scale) in loras)
            {
                foreach (var layer in layers.Where(l => l.Component == component && l.BaseKey == info.Name))
                {
                    double[] delta = layer.Delta();
                    for (int i = 0; i < merged.Length; i++) merged[i] += scale * delta[i];
                }
            }
            tensors.Add(SafetensorsWriter.Tensor.FromArray(info.Name, SafetensorsDType.F32, info.Shape, merged.Select(v => (float)v).ToArray()));
        }
        SafetensorsWriter.Write(path, tensors);
        return path;
    }

    /// <summary>Builds the tiny SDXL UNet from <paramref name="weights"/> and returns out_sample for the golden inputs.</summary>
    public static float[] RunUnet(ICheckpointTensors weights)
    {
        var config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(UnetCase), "config.json")));
        var graph = Unet2DConditionModel.Build(config, weights, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        using var inputs = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(UnetCase), "inputs.safetensors"));
        var names = inputs.Names.ToList();
        var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(inputs.Float(n), inputs.Shape(n))).ToList();
        try
        {
            using var session = NewSession(graph);
            // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
            using var ortRunOptions = new RunOptions();
            using var outputs = session.Run(ortRunOptions, names, values, ["out_sample"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public static float[] RunUnet(string weightsPath)
    {
        using var weights = new SafetensorsCheckpoint(weightsPath);
        return RunUnet(weights);
    }

    /// <summary>Builds the tiny CLIPTextModel from <paramref name="weights"/>; returns last_hidden_state ‖ pooler_output for the golden ids.</summary>
    public static float[] RunClip(ICheckpointTensors weights)
    {
        var config = ClipTextConfig.FromFile(Path.Combine(TestPaths.GoldenCase(ClipCase), "config.json"));
        var graph = ClipTextModel.Build(config, weights);
        using var inputs = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(ClipCase), "inputs.safetensors"));
        using var ids = OrtValue.CreateTensorValueFromMemory(inputs.Int64("input_ids"), inputs.Shape("input_ids"));
        using var session = NewSession(graph);
        // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
        using var ortRunOptions = new RunOptions();
        using var outputs = session.Run(ortRunOptions, ["input_ids"], [ids], ["last_hidden_state", "pooler_output"]);
        return [.. outputs[0].GetTensorDataAsSpan<float>(), .. outputs[1].GetTensorDataAsSpan<float>()];
    }

    public static float[] RunClip(string weightsPath)
    {
        using var weights = new SafetensorsCheckpoint(weightsPath);
        return RunClip(weights);
    }

    private static InferenceSession NewSession(GraphBuilder graph)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(graph.ToBytes(), options);
    }
}

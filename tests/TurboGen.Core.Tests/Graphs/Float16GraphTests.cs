using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// Float16 builds (<see cref="BuildPrecision.Float16"/>) of every golden architecture: they run on the CPU provider
/// (ONNX Runtime inserts casts for the x64 CPU kernels it lacks in float16: MatMul, Conv, Add, Mul, Div, Sub,
/// LayerNormalization) and match the reference within float16 tolerance, and their structure is what a GPU provider will
/// run: float16 weights and activations, float32 graph I/O, float32 softmax / GroupNorm / sinusoidal embedding.
/// </summary>
public sealed class Float16GraphTests
{
    /// <summary>Float16 tolerance (relative to the largest reference value).</summary>
    private const double Fp16Tolerance = 2e-2;

    /// <summary>The float32 builds match within ~1e-6; a float16 build must be clearly worse (proof that float16 ran).</summary>
    private const double Fp16MinimumError = 1e-4;

    private static string CaseFile(string caseName, string file) => Path.Combine(TestPaths.GoldenCase(caseName), file);

    /// <summary>One golden architecture: how to build it, its inputs, and which golden tensor each output is compared with.</summary>
    private sealed record Component(
        string GoldenCase,
        string WeightsFile,
        Func<ICheckpointTensors, BuildPrecision, GraphBuilder> Build,
        Func<GoldenTensors, Dictionary<string, OrtValue>> Inputs,
        Func<string, float[], GoldenTensors, (string GoldenName, float[] Actual)[]> Compare);

    private static (string, float[])[] Same(string name, float[] actual, GoldenTensors _) => [(name, actual)];

    private static Dictionary<string, OrtValue> FloatInputs(GoldenTensors g, params (string Input, string Golden)[] map) =>
        map.ToDictionary(m => m.Input, m => OrtValue.CreateTensorValueFromMemory(g.Float(m.Golden), g.Shape(m.Golden)));

    private static readonly Dictionary<string, Component> Components = new()
    {
        ["clip_text"] = new("clip_text_tiny", "model.safetensors",
            (w, p) => ClipTextModel.Build(ClipTextConfig.FromFile(CaseFile("clip_text_tiny", "config.json")), w,
                new ClipTextBuildOptions { OutputHiddenStates = true, Precision = p }),
            g => new() { ["input_ids"] = OrtValue.CreateTensorValueFromMemory(g.Int64("input_ids"), g.Shape("input_ids")) },
            Same),
        ["clip_text_with_projection"] = new("clip_text_with_projection_tiny", "model.safetensors",
            (w, p) => ClipTextModel.Build(ClipTextConfig.FromFile(CaseFile("clip_text_with_projection_tiny", "config.json")), w,
                new ClipTextBuildOptions { OutputHiddenStates = true, Precision = p }),
            g => new() { ["input_ids"] = OrtValue.CreateTensorValueFromMemory(g.Int64("input_ids"), g.Shape("input_ids")) },
            Same),
        ["unet_sdxl"] = new("unet_sdxl_tiny", "diffusion_pytorch_model.safetensors",
            (w, p) => Unet2DConditionModel.Build(UnetConfig.FromJson(File.ReadAllText(CaseFile("unet_sdxl_tiny", "config.json"))), w,
                new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Precision = p }),
            g => FloatInputs(g, ("sample", "sample"), ("timestep", "timestep"), ("encoder_hidden_states", "encoder_hidden_states"),
                ("text_embeds", "text_embeds"), ("time_ids", "time_ids")),
            (_, actual, _) => [("sample", actual)]),
        ["unet_sd21"] = new("unet_sd21_tiny", "diffusion_pytorch_model.safetensors",
            (w, p) => Unet2DConditionModel.Build(UnetConfig.FromJson(File.ReadAllText(CaseFile("unet_sd21_tiny", "config.json"))), w,
                new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Precision = p }),
            g => FloatInputs(g, ("sample", "sample"), ("timestep", "timestep"), ("encoder_hidden_states", "encoder_hidden_states")),
            (_, actual, _) => [("sample", actual)]),
        ["vae_decoder"] = new("vae_tiny", "diffusion_pytorch_model.safetensors",
            (w, p) => AutoencoderKl.BuildDecoder(AutoencoderKlConfig.FromFile(CaseFile("vae_tiny", "config.json")), w, new() { Precision = p }),
            g => FloatInputs(g, ("latent_sample", "latent")),
            (_, actual, _) => [("decoded", actual)]),
        ["vae_encoder"] = new("vae_tiny", "diffusion_pytorch_model.safetensors",
            (w, p) => AutoencoderKl.BuildEncoder(AutoencoderKlConfig.FromFile(CaseFile("vae_tiny", "config.json")), w, new() { Precision = p }),
            g => FloatInputs(g, ("sample", "image")),
            // batch 1: latent_parameters = mean ‖ logvar along the channels, i.e. the two halves of the data.
            (_, actual, _) => [("latent_mean", actual[..(actual.Length / 2)]), ("latent_logvar", actual[(actual.Length / 2)..])]),
        ["taesd_decoder"] = new("taesd", "diffusion_pytorch_model.safetensors",
            (w, p) => AutoencoderTiny.BuildDecoder(AutoencoderTinyConfig.FromFile(CaseFile("taesd", "config.json")), w, new() { Precision = p }),
            g => FloatInputs(g, ("latent_sample", "latent")),
            (_, actual, _) => [("decoded", actual)]),
        ["taesd_encoder"] = new("taesd", "diffusion_pytorch_model.safetensors",
            (w, p) => AutoencoderTiny.BuildEncoder(AutoencoderTinyConfig.FromFile(CaseFile("taesd", "config.json")), w, new() { Precision = p }),
            g => FloatInputs(g, ("sample", "image")),
            (_, actual, _) => [("latents", actual)]),
    };

    public static TheoryData<string> ComponentNames => [.. Components.Keys];

    private static GraphBuilder Build(string name, BuildPrecision precision, out SafetensorsCheckpoint weights)
    {
        var c = Components[name];
        weights = new SafetensorsCheckpoint(CaseFile(c.GoldenCase, c.WeightsFile));
        return c.Build(weights, precision);
    }

    /// <summary>Runs the graph on the CPU provider with the golden inputs; relative error per compared golden tensor.</summary>
    private static List<(string Name, double Error)> RunAgainstGolden(string name, GraphBuilder graph)
    {
        var c = Components[name];
        using var inputs = new GoldenTensors(CaseFile(c.GoldenCase, "inputs.safetensors"));
        using var outputs = new GoldenTensors(CaseFile(c.GoldenCase, "outputs.safetensors"));
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(graph.ToBytes(), options);
        var feeds = c.Inputs(inputs);
        try
        {
            var names = session.OutputNames.ToArray();
            // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
            using var ortRunOptions = new RunOptions();
            using var results = session.Run(ortRunOptions, feeds.Keys.ToArray(), feeds.Values.ToArray(), names);
            var errors = new List<(string, double)>();
            for (int i = 0; i < names.Length; i++)
            {
                Assert.Equal(TensorElementType.Float, results[i].GetTensorTypeAndShape().ElementDataType);
                float[] actual = results[i].GetTensorDataAsSpan<float>().ToArray();
                foreach (var (goldenName, part) in c.Compare(names[i], actual, outputs))
                {
                    errors.Add(($"{names[i]} vs {goldenName}", GoldenTensors.RelativeError(part, outputs.Float(goldenName))));
                }
            }
            return errors;
        }
        finally
        {
            foreach (var v in feeds.Values) v.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(ComponentNames))]
    public void Float16Build_RunsOnCpu_AndMatchesGoldenWithinFloat16Tolerance(string name)
    {
        var graph = Build(name, BuildPrecision.Float16, out var weights);
        using (weights)
        {
            var errors = RunAgainstGolden(name, graph);
            Assert.NotEmpty(errors);
            foreach (var (output, error) in errors)
            {
                Assert.True(error <= Fp16Tolerance, $"{name} {output}: relative error {error:E2} > {Fp16Tolerance:E0}");
                Assert.True(error >= Fp16MinimumError, $"{name} {output}: relative error {error:E2} is float32-like: did float16 run?");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ComponentNames))]
    public void Float32Build_IsUnchanged_NoFloat16AndFloat32Accuracy(string name)
    {
        var graph = Build(name, BuildPrecision.Float32, out var weights);
        using (weights)
        {
            Assert.DoesNotContain(graph.Initializers, i => i.Type == ElementType.Float16);
            Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Cast" && n.Attribute[0].I == (long)ElementType.Float16);
            foreach (var (output, error) in RunAgainstGolden(name, graph))
            {
                Assert.True(error <= 1e-4, $"{name} {output}: relative error {error:E2}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ComponentNames))]
    public void Float16Graph_ComputesInFloat16_WithFloat32IoAndFloat32Islands(string name)
    {
        var graph = Build(name, BuildPrecision.Float16, out var weights);
        using (weights)
        {
            var model = ModelProto.Parser.ParseFrom(graph.ToBytes());
            var types = GraphTypes.Infer(model.Graph);
            const int f16 = (int)ElementType.Float16, f32 = (int)ElementType.Float;

            // I/O: float stays float32 (keep_io_types); integer inputs untouched.
            foreach (var vi in model.Graph.Input.Concat(model.Graph.Output))
            {
                Assert.Contains(vi.Type.TensorType.ElemType, new[] { f32, (int)ElementType.Int64 });
            }
            // Float inputs feed a Cast to float16, except the timestep / time_ids (sinusoidal embedding in float32).
            foreach (var input in model.Graph.Input.Where(i => i.Type.TensorType.ElemType == f32))
            {
                var consumers = model.Graph.Node.Where(n => n.Input.Contains(input.Name)).ToList();
                if (input.Name is "timestep" or "time_ids")
                {
                    Assert.DoesNotContain(consumers, n => n.OpType == "Cast");
                }
                else
                {
                    Assert.Contains(consumers, n => n.OpType == "Cast" && n.Attribute[0].I == f16);
                }
            }
            // Every output is a float16 activation cast to float32 at the boundary.
            foreach (var output in model.Graph.Output)
            {
                var producer = Producer(model.Graph, output.Name);
                if (producer.OpType == "Identity") producer = Producer(model.Graph, producer.Input[0]);
                Assert.Equal("Cast", producer.OpType);
                Assert.Equal(f16, types[producer.Input[0]]);
            }

            // The heavy ops compute in float16; the numerically sensitive ones in float32.
            foreach (var node in model.Graph.Node)
            {
                switch (node.OpType)
                {
                    case "Conv" or "MatMul" or "LayerNormalization" or "Gemm":
                        Assert.True(node.Input.Where(i => i.Length > 0).All(i => types[i] == f16), $"{node.Name} ({node.OpType}) is not float16");
                        break;
                    case "Softmax" or "InstanceNormalization" or "Sin" or "Cos":
                        Assert.True(types[node.Input[0]] == f32, $"{node.Name} ({node.OpType}) is not float32");
                        break;
                    case "Add" or "Sub" or "Mul" or "Div" or "Concat":
                        // No mixed float types (a float32 constant in a float16 expression, or the reverse).
                        var floats = node.Input.Select(i => types[i]).Where(t => t is f16 or f32).Distinct().ToList();
                        Assert.True(floats.Count <= 1, $"{node.Name} ({node.OpType}) mixes float16 and float32 inputs");
                        break;
                }
            }
            Assert.Contains(model.Graph.Node, n => n.OpType is "Conv" or "MatMul");

            // Weights are float16 except the float32 islands' small tensors (GroupNorm affine, constants).
            long f16Bytes = graph.Initializers.Where(i => i.Type == ElementType.Float16).Sum(i => i.Data.ByteLength);
            long f32Bytes = graph.Initializers.Where(i => i.Type == ElementType.Float).Sum(i => i.Data.ByteLength);
            Assert.True(f16Bytes > 10 * f32Bytes, $"{name}: {f16Bytes} bytes of float16 weights vs {f32Bytes} of float32");
        }
    }

    [Fact]
    public void Float16Build_HalvesTheWeights()
    {
        long Bytes(BuildPrecision p)
        {
            var graph = Build("unet_sdxl", p, out var weights);
            using (weights) return graph.Initializers.Sum(i => i.Data.ByteLength);
        }
        long fp32 = Bytes(BuildPrecision.Float32), fp16 = Bytes(BuildPrecision.Float16);
        double ratio = (double)fp16 / fp32;
        Assert.InRange(ratio, 0.5, 0.51);
    }

    [Fact]
    public void FullSizeSdTurboUnet_Float16WeighsHalf_ShapesOnly()
    {
        // The real SD-Turbo UNet config, shapes only: 865.9 M parameters → 3.46 GB in float32, 1.73 GB in float16.
        var config = UnetConfig.FromJson(KnownConfigs.SdTurbo.UnetConfigJson);
        long Bytes(BuildPrecision p)
        {
            var checkpoint = new ShapeOnlyCheckpoint(UnetCheckpointLayout.Tensors(config));
            var graph = Unet2DConditionModel.Build(config, checkpoint, new UnetBuildOptions { Precision = p });
            return graph.Initializers.Sum(i => i.Data.ByteLength);
        }
        long fp32 = Bytes(BuildPrecision.Float32), fp16 = Bytes(BuildPrecision.Float16);
        Assert.InRange(fp32, 3_463_000_000L, 3_466_000_000L);
        Assert.InRange((double)fp16 / fp32, 0.5, 0.5005);
    }

    private static NodeProto Producer(GraphProto graph, string value) => graph.Node.Single(n => n.Output.Contains(value));

    /// <summary>Element types of every value of a TurboGen graph (nodes are in topological order), by the ONNX typing rules of the ops it uses.</summary>
    private static class GraphTypes
    {
        public static Dictionary<string, int> Infer(GraphProto graph)
        {
            var types = new Dictionary<string, int>(StringComparer.Ordinal) { [""] = 0 };
            foreach (var i in graph.Input) types[i.Name] = i.Type.TensorType.ElemType;
            foreach (var t in graph.Initializer) types[t.Name] = t.DataType;
            foreach (var node in graph.Node)
            {
                int type = node.OpType switch
                {
                    "Cast" => (int)node.Attribute.Single(a => a.Name == "to").I,
                    "Shape" or "ArgMax" => (int)ElementType.Int64,
                    "Equal" => (int)ElementType.Bool,
                    _ => types[node.Input[0]],
                };
                foreach (string o in node.Output) types[o] = type;
            }
            return types;
        }
    }
}

using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Benchmarking;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The published text-encoder configs build at full size from seeded random F16 checkpoints with the transformers key
/// names, load into ONNX Runtime from disk (external data) and run once. CLIP-L runs by default; OpenCLIP-H and bigG
/// (1.4 / 2.8 GB of fp32 weights) are [Trait("Category","Slow")].
/// </summary>
public class ClipTextFullSizeTests(ITestOutputHelper log)
{
    /// <summary>stabilityai/sdxl-turbo text_encoder/config.json (OpenAI CLIP ViT-L/14).</summary>
    public static string ClipLConfig => KnownConfigs.SdxlTurbo.TextEncoderConfigJson;

    /// <summary>stabilityai/sdxl-turbo text_encoder_2/config.json (OpenCLIP ViT-bigG/14).</summary>
    public static string BigGConfig => KnownConfigs.SdxlTurbo.TextEncoder2ConfigJson!;

    /// <summary>stabilityai/sd-turbo text_encoder/config.json (OpenCLIP ViT-H/14, penultimate layer kept: 23 layers).</summary>
    public static string OpenClipHConfig => KnownConfigs.SdTurbo.TextEncoderConfigJson;

    private static string ConfigNamed(string name) => name switch
    {
        nameof(ClipLConfig) => ClipLConfig,
        nameof(BigGConfig) => BigGConfig,
        _ => OpenClipHConfig,
    };

    /// <summary>The transformers state-dict keys of a CLIP text model, written out independently of the builder.</summary>
    private static IEnumerable<(string Name, long[] Shape)> TransformersKeys(long hidden, int layers, long inter, long? projection)
    {
        yield return ("text_model.embeddings.token_embedding.weight", [49408, hidden]);
        yield return ("text_model.embeddings.position_embedding.weight", [77, hidden]);
        for (int i = 0; i < layers; i++)
        {
            string p = $"text_model.encoder.layers.{i}.";
            foreach (string m in new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj" })
            {
                yield return (p + m + ".weight", [hidden, hidden]);
                yield return (p + m + ".bias", [hidden]);
            }
            foreach (string n in new[] { "layer_norm1", "layer_norm2" })
            {
                yield return (p + n + ".weight", [hidden]);
                yield return (p + n + ".bias", [hidden]);
            }
            yield return (p + "mlp.fc1.weight", [inter, hidden]);
            yield return (p + "mlp.fc1.bias", [inter]);
            yield return (p + "mlp.fc2.weight", [hidden, inter]);
            yield return (p + "mlp.fc2.bias", [hidden]);
        }
        yield return ("text_model.final_layer_norm.weight", [hidden]);
        yield return ("text_model.final_layer_norm.bias", [hidden]);
        if (projection is long p2)
        {
            yield return ("text_projection.weight", [p2, hidden]);
        }
    }

    [Fact]
    public void RealConfigs_Parse()
    {
        var l = ClipTextConfig.FromJson(ClipLConfig);
        Assert.Equal((768, 12, 12, 3072, "quick_gelu", false), (l.HiddenSize, l.NumHiddenLayers, l.NumAttentionHeads, l.IntermediateSize, l.HiddenAct, l.HasProjection));
        var g = ClipTextConfig.FromJson(BigGConfig);
        Assert.Equal((1280, 32, 20, 5120, "gelu", true, 1280), (g.HiddenSize, g.NumHiddenLayers, g.NumAttentionHeads, g.IntermediateSize, g.HiddenAct, g.HasProjection, g.ProjectionDim));
        var h = ClipTextConfig.FromJson(OpenClipHConfig);
        Assert.Equal((1024, 23, 16, 4096, "gelu", false), (h.HiddenSize, h.NumHiddenLayers, h.NumAttentionHeads, h.IntermediateSize, h.HiddenAct, h.HasProjection));
        Assert.All(new[] { l, g, h }, c => Assert.True(c.UsesLegacyArgmaxPooling));
    }

    [Theory]
    [InlineData(nameof(ClipLConfig), null, 12)]
    [InlineData(nameof(BigGConfig), 1280L, 32)]
    [InlineData(nameof(OpenClipHConfig), null, 23)]
    public void RealConfigs_FullSize_BuildWithEveryKeyReadAndRightShapes(string configName, long? projection, int layers)
    {
        var config = ClipTextConfig.FromJson(ConfigNamed(configName));
        var keys = TransformersKeys(config.HiddenSize, layers, config.IntermediateSize, projection).ToList();
        var weights = new ShapeOnlyCheckpoint(keys);
        var graph = ClipTextModel.Build(config, weights, new ClipTextBuildOptions { OutputHiddenStates = true });

        Assert.Equal(keys.Count, weights.Used.Count);
        string[] head = projection is null ? ["last_hidden_state", "pooler_output"] : ["text_embeds", "last_hidden_state"];
        Assert.Equal(head.Concat(Enumerable.Range(0, layers + 1).Select(i => $"hidden_states.{i}")), graph.Outputs.Select(o => o.Name));

        // Linear weights are stored transposed for MatMul ([in, out]); everything else keeps its checkpoint name and shape.
        var initializers = graph.Initializers.ToDictionary(i => i.Name);
        long h = config.HiddenSize, inter = config.IntermediateSize;
        Assert.Equal([h, inter], initializers[$"text_model.encoder.layers.{layers - 1}.mlp.fc1.weight.T"].Shape);
        Assert.Equal([inter, h], initializers[$"text_model.encoder.layers.{layers - 1}.mlp.fc2.weight.T"].Shape);
        Assert.Equal([49408L, h], initializers["text_model.embeddings.token_embedding.weight"].Shape);
        if (projection is long p)
        {
            Assert.Equal([h, p], initializers["text_projection.weight.T"].Shape);
            Assert.Equal([p], graph.Outputs[0].Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue));
        }
        // One activation per layer, of the configured kind: Erf for gelu, Sigmoid for quick_gelu.
        Assert.Equal(layers, graph.Nodes.Count(n => n.OpType == (config.HiddenAct == "gelu" ? "Erf" : "Sigmoid")));
    }

    [Fact]
    public void ClipL_FullSize_BuildsLoadsAndRuns() =>
        BuildLoadRun(ClipTextConfig.FromJson(ClipLConfig), projection: null, outputHiddenStates: true);

    [Fact]
    [Trait("Category", "Slow")]
    public void OpenClipH_FullSize_BuildsLoadsAndRuns() =>
        BuildLoadRun(ClipTextConfig.FromJson(OpenClipHConfig), projection: null, outputHiddenStates: false);

    [Fact]
    [Trait("Category", "Slow")]
    public void BigG_FullSize_BuildsLoadsAndRuns() =>
        BuildLoadRun(ClipTextConfig.FromJson(BigGConfig), projection: 1280, outputHiddenStates: true);

    private void BuildLoadRun(ClipTextConfig config, long? projection, bool outputHiddenStates)
    {
        string dir = TestPaths.NewTempDir("turbogen-clip-full");
        var clock = Stopwatch.StartNew();
        try
        {
            string checkpoint = Path.Combine(dir, "model.safetensors");
            RandomCheckpoint.Write(checkpoint, TransformersKeys(config.HiddenSize, config.NumHiddenLayers, config.IntermediateSize, projection),
                seed: 1, std: 0.02f, SafetensorsDType.F16);
            log.WriteLine($"random checkpoint: {clock.Elapsed.TotalSeconds:F1}s");

            string modelPath = Path.Combine(dir, "onnx", "model.onnx");
            using (var weights = new SafetensorsCheckpoint(checkpoint))
            {
                var graph = ClipTextModel.Build(config, weights, new ClipTextBuildOptions { OutputHiddenStates = outputHiddenStates });
                graph.Save(modelPath, "model.onnx_data");
            }
            log.WriteLine($"built + saved: {clock.Elapsed.TotalSeconds:F1}s");

            using var options = new SessionOptions { IntraOpNumThreads = 2 };
            using var session = new InferenceSession(modelPath, options);
            log.WriteLine($"loaded: {clock.Elapsed.TotalSeconds:F1}s");

            var names = session.OutputNames.ToArray();
            var expectedNames = (projection is null ? new[] { "last_hidden_state", "pooler_output" } : ["text_embeds", "last_hidden_state"])
                .Concat(outputHiddenStates ? Enumerable.Range(0, config.NumHiddenLayers + 1).Select(i => $"hidden_states.{i}") : []);
            Assert.Equal(expectedNames, names);

            // "a photo of a cat" padded with 49407, as the SDXL tokenizer produces it.
            var ids = new long[77];
            Array.Fill(ids, 49407L);
            long[] prompt = [49406, 320, 1125, 539, 320, 2368];
            prompt.CopyTo(ids, 0);
            using var input = OrtValue.CreateTensorValueFromMemory(ids, [1, 77]);
            // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
            using var ortRunOptions = new RunOptions();
            using var outputs = session.Run(ortRunOptions, ["input_ids"], [input], names);
            log.WriteLine($"ran: {clock.Elapsed.TotalSeconds:F1}s");

            int h = config.HiddenSize;
            for (int i = 0; i < names.Length; i++)
            {
                long[] shape = outputs[i].GetTensorTypeAndShape().Shape;
                long[] expected = names[i] switch
                {
                    "text_embeds" => [1, projection!.Value],
                    "pooler_output" => [1, h],
                    _ => [1, 77, h],
                };
                Assert.Equal(expected, shape);
                var values = outputs[i].GetTensorDataAsSpan<float>();
                foreach (float v in values) Assert.True(float.IsFinite(v), $"{names[i]} has a non-finite value");
                Assert.True(TensorMaxAbs(values) > 0, $"{names[i]} is all zeros");
            }
            if (projection is null)
            {
                // Pooled at argmax(input_ids) = position 6, the first 49407.
                var last = outputs[Array.IndexOf(names, "last_hidden_state")].GetTensorDataAsSpan<float>();
                var pooled = outputs[Array.IndexOf(names, "pooler_output")].GetTensorDataAsSpan<float>();
                Assert.Equal(last.Slice(6 * h, h).ToArray(), pooled.ToArray());
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static float TensorMaxAbs(ReadOnlySpan<float> values)
    {
        float max = 0;
        foreach (float v in values) max = Math.Max(max, Math.Abs(v));
        return max;
    }
}

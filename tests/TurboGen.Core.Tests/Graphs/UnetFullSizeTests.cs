using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Graphs.UnetTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The full-size SDXL-Turbo and SD-Turbo UNets from seeded random checkpoints with the real shapes: parameter counts and the graph
/// structure, and (opt-in, slow) one 512² denoising step on the CPU.
/// </summary>
public sealed class UnetFullSizeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sdxl-turbo", 2_567_463_684L)]
    [InlineData("sd-turbo", 865_910_724L)]
    public void RealConfig_HasTheKnownParameterCount_AndBuilds(string model, long expectedParameters)
    {
        var config = UnetConfig.FromJson(model == "sdxl-turbo" ? RealUnetConfigs.SdxlTurbo : RealUnetConfigs.SdTurbo);
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 11);
        Assert.Equal(expectedParameters, checkpoint.ParameterCount);

        var sw = Stopwatch.StartNew();
        var graph = Unet2DConditionModel.Build(config, checkpoint);
        output.WriteLine($"{model}: {checkpoint.Tensors.Count} tensors, {graph.Nodes.Count} nodes, built in {sw.ElapsedMilliseconds} ms");

        Assert.Equal(checkpoint.Names.Order(StringComparer.Ordinal), checkpoint.Used.Order(StringComparer.Ordinal));
        long weightElements = graph.Initializers.Where(i => checkpoint.Contains(KeyOf(i.Name))).Sum(i => TensorShape.ElementCount(i.Shape));
        Assert.Equal(expectedParameters, weightElements);

        var inputs = graph.Inputs.Select(i => i.Name).ToArray();
        Assert.Equal(model == "sdxl-turbo"
            ? ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]
            : ["sample", "timestep", "encoder_hidden_states"], inputs);
        var context = graph.Inputs.Single(i => i.Name == "encoder_hidden_states").Type.TensorType.Shape.Dim;
        Assert.Equal(model == "sdxl-turbo" ? 2048 : 1024, context[2].DimValue);
        if (model == "sdxl-turbo")
        {
            Assert.Equal(1280, graph.Inputs.Single(i => i.Name == "text_embeds").Type.TensorType.Shape.Dim[1].DimValue);
        }
        // Transformer blocks: SDXL 2·2 + 2·10 (down) + 10 (mid) + 3·10 + 3·2 (up) = 70; SD 2.1 3·2 + 1 + 3·3 = 16.
        int transformerBlocks = graph.Initializers.Count(i => i.Name.EndsWith(".attn2.to_out.0.bias", StringComparison.Ordinal));
        Assert.Equal(model == "sdxl-turbo" ? 70 : 16, transformerBlocks);
    }

    /// <summary>
    /// One 512² denoising step of the full-size UNet on CPU, from a seeded random F16 safetensors checkpoint written
    /// with the real key names (1.7 GB for SD-Turbo, 5.1 GB for SDXL-Turbo), saved as model.onnx + model.onnx_data.
    /// </summary>
    [SlowTheory]
    [Trait("Category", "Slow")]
    [InlineData("sd-turbo")]
    [InlineData("sdxl-turbo")]
    public void FullSize512_OneStepRunsOnCpu(string model)
    {
        var config = UnetConfig.FromJson(model == "sdxl-turbo" ? RealUnetConfigs.SdxlTurbo : RealUnetConfigs.SdTurbo);
        string dir = TestPaths.NewTempDir("unet-full");
        try
        {
            var sw = Stopwatch.StartNew();
            string weights = Path.Combine(dir, "diffusion_pytorch_model.fp16.safetensors");
            RandomUnetCheckpoint.ForConfig(config, seed: 5).WriteSafetensors(weights, SafetensorsDType.F16);
            output.WriteLine($"{model}: random checkpoint written in {sw.Elapsed.TotalSeconds:F1} s");

            sw.Restart();
            string modelPath = Path.Combine(dir, "unet", "model.onnx");
            using (var checkpoint = new SafetensorsCheckpoint(weights))
            {
                Unet2DConditionModel.Build(config, checkpoint).Save(modelPath, "model.onnx_data");
            }
            File.Delete(weights);
            output.WriteLine($"{model}: graph built and saved in {sw.Elapsed.TotalSeconds:F1} s");

            sw.Restart();
            using var session = new InferenceSession(modelPath, NewOptions(threads: 0));
            output.WriteLine($"{model}: session created in {sw.Elapsed.TotalSeconds:F1} s");

            var inputs = new Dictionary<string, Tensor>
            {
                ["sample"] = Tensor.Random([1, 4, 64, 64], 1),
                ["encoder_hidden_states"] = Tensor.Random([1, 77, config.CrossAttentionDim], 2),
            };
            if (config.HasTextTimeEmbedding)
            {
                inputs["text_embeds"] = Tensor.Random([1, 1280], 3);
                inputs["time_ids"] = new Tensor([512f, 512f, 0f, 0f, 512f, 512f], [1, 6]);
            }
            sw.Restart();
            using var results = RunRaw(session, inputs, Tensor.Of([999f]));
            output.WriteLine($"{model}: one 512² step in {sw.Elapsed.TotalSeconds:F1} s");

            Assert.Equal([1L, 4, 64, 64], results[0].GetTensorTypeAndShape().Shape);
            float[] values = results[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.All(values, v => Assert.True(float.IsFinite(v)));
            Assert.True(values.Max() > values.Min());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

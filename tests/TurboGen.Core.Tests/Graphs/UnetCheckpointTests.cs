using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Graphs.UnetTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The UNet checkpoint layout and its checks: the exact diffusers tensor list, missing / misshapen / unused tensors named in the
/// error, every layout tensor read, and random checkpoints written as safetensors.
/// </summary>
public sealed class UnetCheckpointTests
{
    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Layout_IsExactlyTheDiffusersCheckpoint(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var file = SafetensorsFile.Open(golden.WeightsPath);
        var layout = UnetCheckpointLayout.Tensors(golden.Config);

        var expected = file.Tensors.Values.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        var actual = layout.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.Equal(golden.NumParameters, UnetCheckpointLayout.ParameterCount(golden.Config));
    }

    [Fact]
    public void MissingAndMisshapenTensors_AreAllListed()
    {
        var config = ConfigOf(Sdxl);
        var tensors = UnetCheckpointLayout.Tensors(config)
            .Where(t => t.Name is not "add_embedding.linear_2.bias" and not "up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight")
            .Select(t => t.Name == "down_blocks.2.resnets.0.conv_shortcut.weight" ? (t.Name, new long[] { 48, 32, 3, 3 }) : t);
        var checkpoint = new RandomUnetCheckpoint(tensors, seed: 1, source: "broken.safetensors");

        var e = Assert.Throws<ModelLoadException>(() => Unet2DConditionModel.Build(config, checkpoint));
        Assert.Equal("broken.safetensors", e.Path);
        Assert.Contains("Missing 2 tensor(s)", e.Message);
        Assert.Contains("add_embedding.linear_2.bias", e.Message);
        Assert.Contains("up_blocks.1.attentions.2.transformer_blocks.0.attn2.to_k.weight", e.Message);
        Assert.Contains("down_blocks.2.resnets.0.conv_shortcut.weight is [48,32,3,3], expected [48,32,1,1]", e.Message);
    }

    [Fact]
    public void UnusedTensors_AreReported_UnlessAllowed()
    {
        var config = ConfigOf(Sd21);
        var tensors = UnetCheckpointLayout.Tensors(config)
            .Append(("mid_block.attentions.0.transformer_blocks.0.attn1.to_q.bias", new long[] { 32 }))
            .Append(("class_embedding.linear_1.weight", new long[] { 64, 16 }));
        var checkpoint = new RandomUnetCheckpoint(tensors, seed: 1, source: "extra.safetensors");

        var e = Assert.Throws<ModelLoadException>(() => Unet2DConditionModel.Build(config, checkpoint));
        Assert.Contains("2 tensor(s) that the UNet does not use", e.Message);
        Assert.Contains("mid_block.attentions.0.transformer_blocks.0.attn1.to_q.bias", e.Message);
        Assert.Contains("class_embedding.linear_1.weight", e.Message);

        var lenient = new RandomUnetCheckpoint(tensors, seed: 1);
        var graph = Unet2DConditionModel.Build(config, lenient, new UnetBuildOptions { AllowUnusedKeys = true });
        Assert.DoesNotContain(graph.Initializers, i => i.Name.StartsWith("class_embedding", StringComparison.Ordinal));
    }

    [Fact]
    public void Builder_ReadsEveryLayoutTensor()
    {
        var config = ConfigOf(Sdxl);
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 3);
        var graph = Unet2DConditionModel.Build(config, checkpoint);
        var initializerKeys = graph.Initializers.Select(i => KeyOf(i.Name)).ToHashSet(StringComparer.Ordinal);
        Assert.All(checkpoint.Names, name => Assert.Contains(name, initializerKeys));

        // Node scopes follow the module tree without repeating the prefix.
        Assert.Contains(graph.Nodes, n => n.Name.StartsWith("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k/MatMul", StringComparison.Ordinal));
        Assert.Contains(graph.Nodes, n => n.Name.StartsWith("up_blocks.0.upsamplers.0/Resize", StringComparison.Ordinal));
        Assert.DoesNotContain(graph.Nodes, n => n.Name.Contains("down_blocks.1.down_blocks.1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.F16)]
    public void RandomCheckpoint_WritesReadableSafetensors_ThatBuildAndRun(SafetensorsDType dtype)
    {
        var config = ConfigOf(Sdxl);
        var random = RandomUnetCheckpoint.ForConfig(config, seed: 21);
        string dir = TestPaths.NewTempDir("unet-random");
        try
        {
            string path = Path.Combine(dir, "diffusion_pytorch_model.safetensors");
            random.WriteSafetensors(path, dtype);
            using var file = new SafetensorsCheckpoint(path);
            Assert.Equal(random.Names.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
            foreach (string name in new[] { "conv_in.weight", "down_blocks.1.attentions.0.norm.weight", "time_embedding.linear_1.bias" })
            {
                float[] expected = random.ReadFloat32(name);
                float[] actual = file.ReadFloat32(name);
                Assert.Equal(random.Shape(name), file.Shape(name));
                double tolerance = dtype == SafetensorsDType.F32 ? 0 : 1e-3;
                Assert.True(GoldenTensors.RelativeError(actual, expected) <= tolerance, name);
                Assert.True(expected.Distinct().Count() > expected.Length / 2, $"{name} should be random");
            }

            var graph = Unet2DConditionModel.Build(config, file);
            using var session = NewSession(graph.ToBytes());
            var inputs = new Dictionary<string, Tensor>
            {
                ["sample"] = Tensor.Random([2, 4, 16, 16], 1),
                ["encoder_hidden_states"] = Tensor.Random([2, 77, 72], 2),
                ["text_embeds"] = Tensor.Random([2, 32], 3),
                ["time_ids"] = new Tensor([16f, 16f, 0f, 0f, 16f, 16f, 32f, 32f, 0f, 0f, 16f, 16f], [2, 6]),
            };
            float[] result = Run(session, inputs, Tensor.Of([250f]));
            Assert.Equal(2 * 4 * 16 * 16, result.Length);
            Assert.All(result, v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

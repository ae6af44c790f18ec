using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Checkpoints;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>ControlNets in the original single-file layout (<c>control_model.*</c>) and as diffusers folders.</summary>
public sealed class ControlNetCheckpointTests
{
    private static string Golden => TestPaths.GoldenCase("controlnet_sd21_tiny");

    /// <summary>The golden diffusers ControlNet rewritten under its original names (the inverse of the mapping).</summary>
    private static void WriteOriginal(string path, string prefix)
    {
        var config = ControlNetConfig.FromJson(File.ReadAllText(Path.Combine(Golden, "config.json")));
        using var source = SafetensorsFile.Open(Path.Combine(Golden, "diffusion_pytorch_model.safetensors"));
        var tensors = SingleFileControlNetNames.Mappings(config, prefix)
            .Select(m => SafetensorsWriter.Tensor.FromArray(m.SourceName, SafetensorsDType.F32, source.Info(m.Name).Shape, source.ReadFloat32(m.Name)))
            .ToList();
        SafetensorsWriter.Write(path, tensors);
    }

    [Theory]
    [InlineData(SingleFileControlNetNames.Prefix)]
    [InlineData("")]
    public void OriginalSingleFile_BuildsTheSameControlNet_AsTheDiffusersFolder(string prefix)
    {
        string dir = TestPaths.NewTempDir("controlnet-single");
        try
        {
            string file = Path.Combine(dir, "control_v11p_sd21_tiny.safetensors");
            WriteOriginal(file, prefix);
            using (var raw = SafetensorsFile.Open(file))
            {
                Assert.Contains(prefix + "zero_convs.11.0.weight", raw.Tensors.Keys);
                Assert.Contains(prefix + "middle_block_out.0.bias", raw.Tensors.Keys);
                Assert.Contains(prefix + "input_hint_block.14.weight", raw.Tensors.Keys);
                Assert.Contains(prefix + "input_blocks.3.0.op.weight", raw.Tensors.Keys);
            }
            string goldenConfig = File.ReadAllText(Path.Combine(Golden, "config.json"));
            using var single = ControlNetCheckpoint.Open(file, Path.Combine(dir, "cache"), goldenConfig);
            using var folder = ControlNetCheckpoint.Open(Golden, Path.Combine(dir, "cache"));
            Assert.NotEqual(single.ContentHash, folder.ContentHash);
            var options = new UnetBuildOptions { GraphName = "controlnet", Timestep = TimestepInput.VectorFloat };
            using var a = new InferenceSession(ControlNetModel.Build(single.Config, single.Weights, options).ToBytes());
            using var b = new InferenceSession(ControlNetModel.Build(folder.Config, folder.Weights, options).ToBytes());
            using var inputs = new GoldenTensors(Path.Combine(Golden, "inputs.safetensors"));
            var names = a.InputNames.ToList();
            var values = names.Select(n => n == "conditioning_scale" ? OrtValue.CreateTensorValueFromMemory(new[] { 0.8f }, [])
                : OrtValue.CreateTensorValueFromMemory(inputs.Float(n), inputs.Shape(n))).ToList();
            try
            {
                using var ra = a.Run(new RunOptions(), names, values, a.OutputNames);
                using var rb = b.Run(new RunOptions(), names, values, b.OutputNames);
                for (int i = 0; i < ra.Count; i++)
                {
                    Assert.Equal(rb[i].GetTensorDataAsSpan<float>().ToArray(), ra[i].GetTensorDataAsSpan<float>().ToArray());
                }
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }

            // Without a config, one is derived from the tensors: the widths, blocks, embedding and projections of the file.
            var (detectedPrefix, derived) = SingleFileControlNetNames.Detect(new SafetensorsCheckpoint(file), file);
            Assert.Equal(prefix, detectedPrefix);
            var node = JsonNode.Parse(derived)!;
            Assert.Equal("[16,16,32,32]", node["block_out_channels"]!.ToJsonString());
            Assert.Equal("[8,8,16,16]", node["conditioning_embedding_out_channels"]!.ToJsonString());
            Assert.Equal("""["CrossAttnDownBlock2D","CrossAttnDownBlock2D","CrossAttnDownBlock2D","DownBlock2D"]""", node["down_block_types"]!.ToJsonString());
            Assert.Equal(40, (int)node["cross_attention_dim"]!);
            Assert.Equal(2, (int)node["layers_per_block"]!);
            Assert.True((bool)node["use_linear_projection"]!);
            Assert.Null(node["addition_embed_type"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Sd15SizedSingleFile_DerivesTheSd15ControlNetConfig()
    {
        // control_v11p_sd15_*: SD 1.5 widths, 8 heads, 768-wide text, 1×1-conv projections, conditioning [16,32,96,256].
        string sd15 = """
            {"_class_name":"ControlNetModel","block_out_channels":[320,640,1280,1280],"down_block_types":["CrossAttnDownBlock2D","CrossAttnDownBlock2D","CrossAttnDownBlock2D","DownBlock2D"],
             "cross_attention_dim":768,"attention_head_dim":8,"conditioning_embedding_out_channels":[16,32,96,256],"layers_per_block":2,"use_linear_projection":false}
            """;
        var config = ControlNetConfig.FromJson(sd15);
        var shapes = ControlNetCheckpointLayout.Tensors(config).ToDictionary(t => t.Name, t => t.Shape);
        var original = SingleFileControlNetNames.Mappings(config, SingleFileControlNetNames.Prefix)
            .Select(m => (m.SourceName, shapes[m.Name]));
        Assert.Equal(361_279_120L, ControlNetCheckpointLayout.ParameterCount(config));
        var (_, derived) = SingleFileControlNetNames.Detect(new ShapeOnlyCheckpoint(original), "control_v11p_sd15_canny.safetensors");
        var back = ControlNetConfig.FromJson(derived);
        static IEnumerable<string> Keys(ControlNetConfig c) => ControlNetCheckpointLayout.Tensors(c).Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]");
        Assert.Equal(Keys(config), Keys(back));
        Assert.Equal(config.Unet.AttentionHeads, back.Unet.AttentionHeads);
        Assert.Equal(config.Unet.TransformerLayersPerBlock, back.Unet.TransformerLayersPerBlock);
        Assert.Equal((config.Unet.NormNumGroups, config.Unet.UseLinearProjection, config.Unet.CrossAttentionDim), (back.Unet.NormNumGroups, back.Unet.UseLinearProjection, back.Unet.CrossAttentionDim));
    }

    [Fact]
    public void NotAControlNet_IsRefusedNamingTheFile()
    {
        string dir = TestPaths.NewTempDir("controlnet-bad");
        try
        {
            string file = Path.Combine(dir, "vae.safetensors");
            SafetensorsWriter.Write(file, [SafetensorsWriter.Tensor.FromArray("decoder.conv_in.weight", SafetensorsDType.F32, [1], new[] { 1f })]);
            var e = Assert.Throws<ModelLoadException>(() => ControlNetCheckpoint.Open(file));
            Assert.Contains("vae.safetensors is not an original ControlNet single file", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

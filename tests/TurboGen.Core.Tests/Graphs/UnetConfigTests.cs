using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// UNet <c>config.json</c> parsing: per-block values of the real SDXL-Turbo and SD-Turbo configs, and unsupported options or
/// invalid JSON rejected with the option and the file named.
/// </summary>
public sealed class UnetConfigTests
{
    [Fact]
    public void Config_ReadsPerBlockValuesAndTheHeadCountQuirk()
    {
        var xl = UnetConfig.FromJson(RealUnetConfigs.SdxlTurbo);
        Assert.Equal([5, 10, 20], xl.AttentionHeads);
        Assert.Equal([1, 2, 10], xl.TransformerLayersPerBlock);
        Assert.Equal([10, 2, 1], xl.ReverseTransformerLayersPerBlock);
        Assert.Equal(1280, xl.TimeEmbedDim);
        Assert.Equal(1280, Unet2DConditionModel.TextEmbedsWidth(xl, new UnetBuildOptions()));
        var up = xl.UpBlocks();
        Assert.Equal((1280, 640, 1280, 3, 10, 20), (up[0].OutChannels, up[0].InChannels, up[0].PrevOutChannels, up[0].Layers, up[0].TransformerLayers, up[0].Heads));
        Assert.False(up[2].HasSampler);

        var sd = UnetConfig.FromJson(RealUnetConfigs.SdTurbo);
        Assert.Equal([1, 1, 1, 1], sd.TransformerLayersPerBlock);
        Assert.Equal(1024, sd.CrossAttentionDim);
        Assert.False(sd.HasTextTimeEmbedding);
        Assert.Equal([true, true, true, false], sd.DownBlocks().Select(b => b.HasCrossAttention));
    }

    [Theory]
    [InlineData("\"class_embed_type\": \"timestep\"", "class_embed_type")]
    [InlineData("\"transformer_layers_per_block\": [[1], [2], [10]]", "nested")]
    [InlineData("\"attention_head_dim\": [5, 10]", "attention_head_dim has 2 entries")]
    [InlineData("\"attention_head_dim\": [7, 10, 20]", "cannot be split into 7 attention heads")]
    [InlineData("\"up_block_types\": [\"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"AttnUpBlock2D\"]", "AttnUpBlock2D")]
    [InlineData("\"resnet_time_scale_shift\": \"scale_shift\"", "resnet_time_scale_shift")]
    [InlineData("\"addition_embed_type\": \"text\"", "addition_embed_type")]
    public void Config_RejectsUnsupportedOptionsClearly(string overrideJson, string expected)
    {
        var doc = System.Text.Json.Nodes.JsonNode.Parse(RealUnetConfigs.SdxlTurbo)!.AsObject();
        var patch = System.Text.Json.Nodes.JsonNode.Parse("{" + overrideJson + "}")!.AsObject();
        foreach (var (key, value) in patch.ToList())
        {
            patch.Remove(key);
            doc[key] = value;
        }
        var e = Assert.Throws<ModelLoadException>(() => UnetConfig.FromJson(doc.ToJsonString(), "x/unet/config.json"));
        Assert.Contains(expected, e.Message);
        Assert.Equal("x/unet/config.json", e.Path);
    }

    [Fact]
    public void Config_RejectsInvalidJson()
    {
        var e = Assert.Throws<ModelLoadException>(() => UnetConfig.FromJson("{ \"block_out_channels\": [32, "));
        Assert.Contains("not valid JSON", e.Message);
    }
}

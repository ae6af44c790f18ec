using System.Text.Json;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Scheduling;
using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>The key layout of the real single files (derived from the known configs) and the known configs themselves.</summary>
public sealed class SingleFileLayoutTests
{
    private static readonly Lazy<Dictionary<string, long[]>> SdxlTensors = new(() => Tensors(KnownConfigs.SdxlTurbo));
    private static readonly Lazy<Dictionary<string, long[]>> SdTensors = new(() => Tensors(KnownConfigs.SdTurbo));

    private static Dictionary<string, long[]> Tensors(ModelConfigSet configs) =>
        SingleFileLayout.For(configs).SourceTensors().ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);

    private static long Parameters(Dictionary<string, long[]> tensors, string prefix) =>
        tensors.Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(t => TensorShape.ElementCount(t.Value));

    [Fact]
    public void KnownConfigs_ParseWithThePublishedValues()
    {
        foreach (var set in new[] { KnownConfigs.SdxlTurbo, KnownConfigs.SdTurbo })
        {
            set.Validate();
            UnetConfig.FromJson(set.UnetConfigJson);
            ClipTextConfig.FromJson(set.TextEncoderConfigJson);
            using var index = JsonDocument.Parse(set.ModelIndexJson);
            Assert.Equal(set.Family == ModelFamily.Sdxl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline", index.RootElement.GetProperty("_class_name").GetString());
        }
        Assert.Equal(0.13025f, AutoencoderKlConfig.FromJson(KnownConfigs.SdxlTurbo.VaeConfigJson).ScalingFactor);
        Assert.Equal(0.18215f, AutoencoderKlConfig.FromJson(KnownConfigs.SdTurbo.VaeConfigJson).ScalingFactor);
        Assert.Equal([128, 256, 512, 512], AutoencoderKlConfig.FromJson(KnownConfigs.SdTurbo.VaeConfigJson).BlockOutChannels);
        Assert.Equal(("EulerAncestralDiscreteScheduler", "trailing"), Scheduler(KnownConfigs.SdxlTurbo.SchedulerConfigJson));
        Assert.Equal(("EulerDiscreteScheduler", "trailing"), Scheduler(KnownConfigs.SdTurbo.SchedulerConfigJson));
        Assert.True(ClipTextConfig.FromJson(KnownConfigs.SdxlTurbo.TextEncoder2ConfigJson!).HasProjection);
        Assert.Equal(23, ClipTextConfig.FromJson(KnownConfigs.SdTurbo.TextEncoderConfigJson).NumHiddenLayers);
        Assert.Same(KnownConfigs.SdTurbo, KnownConfigs.For(ModelFamily.Sd));
    }

    private static (string, string) Scheduler(string json)
    {
        var c = SchedulerConfig.FromJson(json);
        return (c.ClassName, c.TimestepSpacing);
    }

    [Fact]
    public void UnetParameterCounts_AreThoseOfTheRealModels()
    {
        Assert.Equal(2_567_463_684L, Parameters(SdxlTensors.Value, SingleFileLayout.UnetPrefix));
        Assert.Equal(865_910_724L, Parameters(SdTensors.Value, SingleFileLayout.UnetPrefix));
    }

    [Theory]
    // SDXL UNet (sgm naming): time/label embeddings, input block numbering with a downsampler every third slot, upsamplers after attention.
    [InlineData("sdxl", "model.diffusion_model.label_emb.0.0.weight", new long[] { 1280, 2816 })]
    [InlineData("sdxl", "model.diffusion_model.time_embed.2.bias", new long[] { 1280 })]
    [InlineData("sdxl", "model.diffusion_model.input_blocks.3.0.op.weight", new long[] { 320, 320, 3, 3 })]
    [InlineData("sdxl", "model.diffusion_model.input_blocks.4.0.skip_connection.weight", new long[] { 640, 320, 1, 1 })]
    [InlineData("sdxl", "model.diffusion_model.input_blocks.8.1.transformer_blocks.9.attn2.to_k.weight", new long[] { 1280, 2048 })]
    [InlineData("sdxl", "model.diffusion_model.middle_block.1.transformer_blocks.9.ff.net.0.proj.weight", new long[] { 10240, 1280 })]
    [InlineData("sdxl", "model.diffusion_model.middle_block.2.emb_layers.1.weight", new long[] { 1280, 1280 })]
    [InlineData("sdxl", "model.diffusion_model.output_blocks.2.2.conv.weight", new long[] { 1280, 1280, 3, 3 })]
    [InlineData("sdxl", "model.diffusion_model.output_blocks.5.2.conv.weight", new long[] { 640, 640, 3, 3 })]
    [InlineData("sdxl", "model.diffusion_model.output_blocks.8.0.out_layers.3.weight", new long[] { 320, 320, 3, 3 })]
    [InlineData("sdxl", "model.diffusion_model.out.2.weight", new long[] { 4, 320, 3, 3 })]
    // SDXL text encoders and VAE.
    [InlineData("sdxl", "conditioner.embedders.0.transformer.text_model.encoder.layers.11.self_attn.q_proj.weight", new long[] { 768, 768 })]
    [InlineData("sdxl", "conditioner.embedders.0.transformer.text_model.embeddings.position_ids", new long[] { 1, 77 })]
    [InlineData("sdxl", "conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_weight", new long[] { 3840, 1280 })]
    [InlineData("sdxl", "conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_fc.weight", new long[] { 5120, 1280 })]
    [InlineData("sdxl", "conditioner.embedders.1.model.positional_embedding", new long[] { 77, 1280 })]
    [InlineData("sdxl", "conditioner.embedders.1.model.text_projection", new long[] { 1280, 1280 })]
    [InlineData("sdxl", "conditioner.embedders.1.model.logit_scale", new long[0])]
    [InlineData("sdxl", "first_stage_model.encoder.mid.attn_1.q.weight", new long[] { 512, 512, 1, 1 })]
    [InlineData("sdxl", "first_stage_model.decoder.up.3.upsample.conv.weight", new long[] { 512, 512, 3, 3 })]
    [InlineData("sdxl", "first_stage_model.decoder.up.0.block.0.nin_shortcut.weight", new long[] { 128, 256, 1, 1 })]
    [InlineData("sdxl", "first_stage_model.encoder.down.1.block.0.nin_shortcut.weight", new long[] { 256, 128, 1, 1 })]
    [InlineData("sdxl", "first_stage_model.decoder.norm_out.weight", new long[] { 128 })]
    // SD 2.x (ldm naming): no upsampler attention slot in the first up block, 24 OpenCLIP-H resblocks (the last unused).
    [InlineData("sd", "model.diffusion_model.output_blocks.2.1.conv.weight", new long[] { 1280, 1280, 3, 3 })]
    [InlineData("sd", "model.diffusion_model.output_blocks.8.2.conv.weight", new long[] { 640, 640, 3, 3 })]
    [InlineData("sd", "model.diffusion_model.input_blocks.1.1.proj_in.weight", new long[] { 320, 320 })]
    [InlineData("sd", "model.diffusion_model.input_blocks.11.0.in_layers.2.weight", new long[] { 1280, 1280, 3, 3 })]
    [InlineData("sd", "cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight", new long[] { 3072, 1024 })]
    [InlineData("sd", "cond_stage_model.model.text_projection", new long[] { 1024, 1024 })]
    [InlineData("sd", "cond_stage_model.model.token_embedding.weight", new long[] { 49408, 1024 })]
    public void RealLayouts_HaveTheOriginalKeysWithTheirShapes(string model, string key, long[] shape)
    {
        var tensors = model == "sdxl" ? SdxlTensors.Value : SdTensors.Value;
        Assert.True(tensors.ContainsKey(key), $"{model} layout has no {key}");
        Assert.Equal(shape, tensors[key]);
    }

    [Fact]
    public void RealLayouts_HaveNoStrayKeys()
    {
        Assert.DoesNotContain(SdxlTensors.Value.Keys, k => k.StartsWith("model.diffusion_model.input_blocks.9.", StringComparison.Ordinal));   // 3 levels: 0..8
        Assert.DoesNotContain(SdxlTensors.Value.Keys, k => k.Contains("input_blocks.1.1.", StringComparison.Ordinal));   // no attention in level 0
        Assert.DoesNotContain(SdxlTensors.Value.Keys, k => k.StartsWith("model.diffusion_model.output_blocks.8.2.", StringComparison.Ordinal));   // last up block: no upsampler
        Assert.DoesNotContain(SdTensors.Value.Keys, k => k.StartsWith("cond_stage_model.model.transformer.resblocks.24.", StringComparison.Ordinal));
        Assert.DoesNotContain(SdTensors.Value.Keys, k => k.StartsWith("model.diffusion_model.label_emb", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryMapping_ReadsATensorOfTheLayout_AndTheLayoutComparesClean()
    {
        foreach (var set in new[] { KnownConfigs.SdxlTurbo, KnownConfigs.SdTurbo })
        {
            var layout = SingleFileLayout.For(set);
            var names = layout.SourceTensors().Select(t => t.Name).ToList();
            Assert.Equal(names.Count, names.Distinct().Count());
            var all = layout.Unet.Concat(layout.TextEncoder).Concat(layout.TextEncoder2 ?? []).Concat(layout.Vae).ToList();
            Assert.All(all, m => Assert.Contains(m.SourceName, names));
            var (missing, unexpected) = layout.Compare(names);
            Assert.Empty(missing);
            Assert.Empty(unexpected);
            Assert.Equal(set.Family, SingleFileLayout.DetectFamily(names));
        }
    }

    [Fact]
    public void OpenClipAttention_IsSplitFromTheFusedInputProjection_InQkvOrder()
    {
        var layout = SingleFileLayout.For(KnownConfigs.SdxlTurbo);
        var parts = layout.TextEncoder2!.Where(m => m.Name.StartsWith("text_model.encoder.layers.7.self_attn.", StringComparison.Ordinal) && m.Name.EndsWith(".bias", StringComparison.Ordinal))
            .ToDictionary(m => m.Name["text_model.encoder.layers.7.self_attn.".Length..]);
        Assert.Equal(TensorMapping.ChunkOf("text_model.encoder.layers.7.self_attn.q_proj.bias", "conditioner.embedders.1.model.transformer.resblocks.7.attn.in_proj_bias", 0, 3),
            parts["q_proj.bias"]);
        Assert.Equal(1, parts["k_proj.bias"].ChunkIndex);
        Assert.Equal(2, parts["v_proj.bias"].ChunkIndex);
        Assert.Equal(new TensorMapping("text_model.encoder.layers.7.self_attn.out_proj.bias", "conditioner.embedders.1.model.transformer.resblocks.7.attn.out_proj.bias"), parts["out_proj.bias"]);
        Assert.Equal(TensorTransform.Transpose, layout.TextEncoder2!.Single(m => m.Name == "text_projection.weight").Transform);
    }

    [Fact]
    public void FamilyDetection_FollowsTheSecondEmbedder()
    {
        Assert.Equal(ModelFamily.Sdxl, SingleFileLayout.DetectFamily(["model.diffusion_model.out.0.weight", "conditioner.embedders.1.model.ln_final.weight"]));
        Assert.Equal(ModelFamily.Sd, SingleFileLayout.DetectFamily(["model.diffusion_model.out.0.weight", "cond_stage_model.model.ln_final.weight"]));
        Assert.Null(SingleFileLayout.DetectFamily(["unet.conv_in.weight"]));
    }
}

using TurboGen.Building;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// Diffusers folders around the golden LCM-distilled (<c>unet_lcm_tiny</c>) and SDXS-shaped (<c>unet_sdxs_tiny</c>) UNets,
/// built by TurboGen and run by <see cref="TurboPipeline"/>: the LCM UNet gets the guidance-scale embedding and no
/// classifier-free guidance; the block-removed UNet generates in one step with the tiny VAE.
/// </summary>
public sealed class UnetVariantPipelineTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("unet-variant-pipeline");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void LcmModel_GuidanceGoesThroughTheEmbedding_NotThroughCfg()
    {
        using var model = Load("unet_lcm_tiny", GoldenDiffusersFolder.LcmSchedulerJson(), "LatentConsistencyModelPipeline");
        Assert.True(model.Unet.UsesGuidanceEmbedding);
        Assert.Equal(32, model.Unet.GuidanceEmbeddingDim);
        var pipeline = new TurboPipeline(model);
        Assert.Equal("LCM", pipeline.SamplerName);

        var request = new GenerationRequest { Prompt = "a cat", Width = 64, Height = 64, Steps = 2, Seed = 5, GuidanceScale = 8f };
        var guided = pipeline.Generate(request);
        var otherScale = pipeline.Generate(request with { GuidanceScale = 1.5f });
        var withNegative = pipeline.Generate(request with { NegativePrompt = "a dog" });

        Assert.NotEqual(guided.Latents.Data, otherScale.Latents.Data);      // the scale reaches the UNet (timestep_cond)
        Assert.Equal(guided.Latents.Data, withNegative.Latents.Data);       // no CFG: the negative prompt plays no part
        var record = GenerationMetadata.Record(withNegative, 0, "lcm-tiny");
        Assert.Equal(("", 8f), (record.NegativePrompt, record.GuidanceScale));   // and the metadata says so
        // Scales ≤ 1 are unguided, embedded as 1 (w = 0): the turbo default 0 gives what 1 gives.
        var zero = pipeline.Generate(request with { GuidanceScale = 0f });
        var one = pipeline.Generate(request with { GuidanceScale = 1f });
        Assert.Equal(one.Latents.Data, zero.Latents.Data);
        Assert.NotEqual(one.Latents.Data, otherScale.Latents.Data);
        Assert.Equal(1, guided.Latents.Shape[0]);
        Assert.Single(guided.Images);
        Assert.All(guided.Latents.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void SdxsShapedModel_GeneratesInOneStep_WithTheTinyVae()
    {
        using var model = Load("unet_sdxs_tiny", TinyModels.SchedulerJson("EulerDiscreteScheduler"), withTinyVae: true);
        Assert.False(model.Unet.UsesGuidanceEmbedding);
        var pipeline = new TurboPipeline(model);
        var result = pipeline.Generate(new GenerationRequest { Prompt = "a cat", Width = 64, Height = 64, Steps = 1, Seed = 9, UseTinyVae = true });
        var other = pipeline.Generate(new GenerationRequest { Prompt = "a red house", Width = 64, Height = 64, Steps = 1, Seed = 9, UseTinyVae = true });
        Assert.Equal(64, result.Images[0].Width);
        Assert.NotEqual(result.Images[0].Pixels, other.Images[0].Pixels);
        Assert.Contains(result.Timings.Stages, s => s.Stage == "decode.tiny_vae");
    }

    private TurboModel Load(string unetCase, string schedulerJson, string pipelineClass = "StableDiffusionPipeline", bool withTinyVae = false)
    {
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(_root, unetCase), unetCase, schedulerJson, pipelineClass);
        var options = new ModelResolveOptions { CacheRoot = Path.Combine(_root, "cache") };
        string onnx = ModelResolver.Resolve(folder, options);
        string? tiny = withTinyVae ? ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), options) : null;
        return TurboModel.Load(onnx, new ModelLoadOptions { TinyVaePath = tiny, Runtime = new RuntimeOptions { Threads = 1 } });
    }
}

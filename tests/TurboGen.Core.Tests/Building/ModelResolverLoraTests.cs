using TurboGen.Building;
using TurboGen.Core.Tests.Checkpoints.Lora;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Building;

[Collection("built-golden-model")]
public sealed class ModelResolverLoraTests(BuiltGoldenModelFixture fixture)
{
    [Fact]
    public void Lora_IsMergedAtBuildTime_IntoItsOwnCacheEntry()
    {
        string dir = TestPaths.NewTempDir("turbogen-lora");
        string lora = LoraTestSupport.Write(Path.Combine(dir, "style.safetensors"), TestLoraNaming.Kohya,
            LoraTestSupport.UnetLayer("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", rank: 4, seed: 3));
        var options = new ModelResolveOptions { CacheRoot = fixture.CacheRoot };

        string plain = ModelResolver.Resolve(fixture.DiffusersDir, options);
        string merged = ModelResolver.Resolve(fixture.DiffusersDir, options with { Loras = [(lora, 1f)] });
        string half = ModelResolver.Resolve(fixture.DiffusersDir, options with { Loras = [(lora, 0.5f)] });
        Assert.NotEqual(plain, merged);
        Assert.NotEqual(merged, half);
        Assert.Equal(merged, ModelResolver.Resolve(fixture.DiffusersDir, options with { Loras = [(lora, 1f)] }));

        var request = new GenerationRequest { Prompt = "a photo of a cat", Seed = 5, Width = 128, Height = 128, LatentsOnly = true };
        float[] Latents(string folder)
        {
            using var model = TurboModel.Load(folder);
            return new TurboPipeline(model).Generate(request).Latents.Data;
        }
        Assert.NotEqual(Latents(plain), Latents(merged));
    }

    [Fact]
    public void Lora_OnAnOnnxExport_IsAClearError()
    {
        string onnx = TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        var e = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve(onnx, new ModelResolveOptions { Loras = [("x.safetensors", 1f)] }));
        Assert.Contains("ONNX export", e.Message);
    }
}

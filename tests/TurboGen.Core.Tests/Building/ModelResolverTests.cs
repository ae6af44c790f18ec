using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Building;

[Collection("built-golden-model")]
public sealed class ModelResolverTests(BuiltGoldenModelFixture fixture)
{
    [Fact]
    public void AnOnnxFolder_ResolvesToItself()
    {
        string onnx = TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        Assert.Equal(Path.GetFullPath(onnx), ModelResolver.Resolve(onnx));
        Assert.Equal(fixture.OnnxDir, ModelResolver.Resolve(fixture.OnnxDir));
    }

    [Fact]
    public void ADiffusersFolder_ResolvesToItsCachedBuild()
    {
        var progress = new RecordingProgress();
        string path = ModelResolver.Resolve(fixture.DiffusersDir, new ModelResolveOptions { CacheRoot = fixture.CacheRoot, Progress = progress });
        Assert.Equal(fixture.OnnxDir, path);
        Assert.StartsWith("using the cached build", Assert.Single(progress.Lines));
    }

    [Fact]
    public void ASafetensorsFileThatIsNoCheckpoint_IsAClearError()
    {
        string file = Path.Combine(fixture.DiffusersDir, "unet", "diffusion_pytorch_model.safetensors");
        var e = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve(file, new ModelResolveOptions { CacheRoot = fixture.CacheRoot }));
        Assert.Contains("single-file checkpoint", e.Message);
        Assert.Equal(file, e.Path);
    }

    [Fact]
    public void ASingleFileCheckpoint_BuildsTheSameModelAsItsDiffusersFolder()
    {
        string dir = TestPaths.NewTempDir("turbogen-single");
        string file = Path.Combine(dir, "tiny_sdxl.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(file);
        var families = new List<SingleFileBase>();
        var options = new ModelResolveOptions
        {
            CacheRoot = fixture.CacheRoot,
            SingleFileConfigs = SingleFileTestCheckpoints.SdxlConfigs(),
            TokenizerSource = (family, _) =>
            {
                families.Add(family);
                return (Path.Combine(fixture.DiffusersDir, "tokenizer"), Path.Combine(fixture.DiffusersDir, "tokenizer_2"));
            },
        };
        string built = ModelResolver.Resolve(file, options);
        Assert.Equal([SingleFileBase.Sdxl], families);
        Assert.NotEqual(fixture.OnnxDir, built);

        var request = new TurboGen.Pipelines.GenerationRequest { Prompt = "a photo of a cat", Seed = 11, Width = 128, Height = 128, Steps = 2 };
        byte[] Pixels(string folder)
        {
            using var model = TurboModel.Load(folder);
            return new TurboGen.Pipelines.TurboPipeline(model).Generate(request).Images[0].Pixels;
        }
        Assert.Equal(Pixels(fixture.OnnxDir), Pixels(built));

        var noTokenizers = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve(file, options with { TokenizerSource = null, CacheRoot = TestPaths.NewTempDir("turbogen-cache") }));
        Assert.Contains("tokenizer", noTokenizers.Message);
    }

    [Fact]
    public void SomethingElse_IsAClearError()
    {
        var missing = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve("/nonexistent/turbogen/model"));
        Assert.Contains("/nonexistent/turbogen/model", missing.Message);
        Assert.Contains("resolved by the CLI", missing.Message);

        string empty = TestPaths.NewTempDir("turbogen-empty");
        try
        {
            var e = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve(empty));
            Assert.Contains("neither an ONNX model folder", e.Message);
            File.WriteAllText(Path.Combine(empty, "notes.txt"), "");
            var file = Assert.Throws<ModelLoadException>(() => ModelResolver.Resolve(Path.Combine(empty, "notes.txt")));
            Assert.Contains("is a file", file.Message);
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Fact]
    public void TinyVae_FromAnAutoencoderTinyFolder_IsBuiltOnce_WithItsConfig()
    {
        Assert.StartsWith(Path.Combine(fixture.CacheRoot, "built", "taesd-"), fixture.TinyVaeDir);
        foreach (string part in new[] { "vae_decoder", "vae_encoder" })
        {
            Assert.True(File.Exists(Path.Combine(fixture.TinyVaeDir, part, "model.onnx")), part);
        }
        Assert.Contains("\"AutoencoderTiny\"", File.ReadAllText(Path.Combine(fixture.TinyVaeDir, "config.json")));
        Assert.Equal(TurboGen.Imaging.ImageRange.MinusOneToOne, fixture.Model.TinyVaeRange);

        var progress = new RecordingProgress();
        Assert.Equal(fixture.TinyVaeDir, ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), new ModelResolveOptions { CacheRoot = fixture.CacheRoot, Progress = progress }));
        Assert.StartsWith("using the cached build", Assert.Single(progress.Lines));
    }

    [Fact]
    public void TinyVae_OnnxFolder_IsItself_AndOtherFoldersAreRefused()
    {
        string onnx = Path.Combine(TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew), "taesd");
        Assert.Equal(Path.GetFullPath(onnx), ModelResolver.ResolveTinyVae(onnx));

        var e = Assert.Throws<ModelLoadException>(() => ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("vae_tiny")));
        Assert.Contains("AutoencoderTiny", e.Message);
    }
}

using TurboGen.Building;
using TurboGen.Core.Tests.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>ControlNets end to end on the test kit's tiny models (<see cref="TinyModels.GetControlled"/> + <see cref="TinyControlNets"/>).</summary>
public sealed class ControlNetPipelineTests
{
    private const int Side = 64;

    private static RgbImage Pattern() =>
        new(Side, Side, Enumerable.Range(0, Side * Side).SelectMany(i => (i % Side / 8 + i / Side / 8) % 2 == 0 ? new byte[] { 250, 240, 230 } : new byte[] { 10, 20, 30 }).ToArray());

    private static GenerationRequest Request(string prompt = "a red house") => new() { Prompt = prompt, Width = Side, Height = Side, Steps = 2, Seed = 11 };

    [Theory]
    [InlineData(TinyFamily.SdTurbo)]
    [InlineData(TinyFamily.SdxlTurbo)]
    public void Control_SteersTheImage_ScaleZeroIsNoControl_AndTwoHalvesMakeAWhole(TinyFamily family)
    {
        using var model = TurboModel.Load(TinyModels.GetControlled(family));
        using var controlnet = ControlNet.Load(ResolveTiny(family));
        var pipeline = new TurboPipeline(model);
        var edges = ControlPreprocessor.Apply("canny", Pattern());

        var plain = pipeline.Generate(Request());
        var off = pipeline.Generate(Request() with { Controls = [new ControlInput(controlnet, edges) { Scale = 0 }] });
        Assert.Equal(plain.Latents.Data, off.Latents.Data);

        var full = pipeline.Generate(Request() with { Controls = [new ControlInput(controlnet, edges)] });
        Assert.True(GoldenTensors.RelativeError(full.Latents.Data, plain.Latents.Data) > 1e-3, "the control image must change the result");
        Assert.Equal(2, full.Timings.Stages.Count(s => s.Stage.StartsWith("controlnet0.", StringComparison.Ordinal)));

        var halves = pipeline.Generate(Request() with { Controls = [new ControlInput(controlnet, edges) { Scale = 0.5f }, new ControlInput(controlnet, edges) { Scale = 0.5f }] });
        Assert.True(GoldenTensors.RelativeError(halves.Latents.Data, full.Latents.Data) < 1e-5, "residuals of several ControlNets add up");

        // Another control image gives another picture; a control image of another size is resized to the output size.
        var other = pipeline.Generate(Request() with { Controls = [new ControlInput(controlnet, ImageOps.ResizeCover(edges, 100, 60))] });
        Assert.True(GoldenTensors.RelativeError(other.Latents.Data, full.Latents.Data) > 1e-4);
    }

    [Fact]
    public void Control_WorksWithImageToImage_AndClassifierFreeGuidance()
    {
        using var model = TurboModel.Load(TinyModels.GetControlled(TinyFamily.SdTurbo));
        using var controlnet = ControlNet.Load(ResolveTiny(TinyFamily.SdTurbo));
        var pipeline = new TurboPipeline(model);
        var request = Request() with { InitImage = Pattern(), Strength = 0.6f, Steps = 4, GuidanceScale = 3f };
        var plain = pipeline.Generate(request);
        var controlled = pipeline.Generate(request with { Controls = [new ControlInput(controlnet, ControlPreprocessor.Apply("scribble", Pattern())) { GuidanceStart = 0.5f }] });
        Assert.True(GoldenTensors.RelativeError(controlled.Latents.Data, plain.Latents.Data) > 1e-4);
        // Strength 0.6 of 4 steps runs 2 steps; the window [0.5, 1] covers the second one only.
        Assert.Equal(["controlnet0.step1"], controlled.Timings.Stages.Where(s => s.Stage.StartsWith("controlnet", StringComparison.Ordinal)).Select(s => s.Stage));
    }

    [Fact]
    public void UnetWithoutResidualInputs_GivesAClearError()
    {
        using var model = TurboModel.Load(TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false));
        using var controlnet = ControlNet.Load(ResolveTiny(TinyFamily.SdTurbo));
        Assert.False(model.Unet.AcceptsControlResiduals);
        var e = Assert.Throws<ModelContractException>(() => new TurboPipeline(model).Generate(Request() with { Controls = [new ControlInput(controlnet, Pattern())] }));
        Assert.Contains("cannot take ControlNet residuals", e.Message);
    }

    [Fact]
    public void ControlNetForAnotherFamily_IsRefusedNamingTheField()
    {
        using var model = TurboModel.Load(TinyModels.GetControlled(TinyFamily.SdxlTurbo));
        using var sdControlNet = ControlNet.Load(ResolveTiny(TinyFamily.SdTurbo));
        var e = Assert.Throws<InvalidRequestException>(() => new TurboPipeline(model).Generate(Request() with { Controls = [new ControlInput(sdControlNet, Pattern())] }));
        Assert.Equal("controlnet[0].model", e.Parameter);
        Assert.Contains("SD 1.x/2.x", e.Message);
    }

    [Fact]
    public void Resolver_UsesOnnxAsIs_AndBuildsDiffusersFoldersOnce()
    {
        string onnx = TinyControlNets.Get(TinyFamily.SdTurbo, onnx: true);
        Assert.Equal(Path.Combine(onnx, "model.onnx"), ControlNetResolver.Resolve(onnx));

        string cache = TestPaths.NewTempDir("controlnet-cache");
        try
        {
            var progress = new RecordingProgress();
            var options = new ModelResolveOptions { CacheRoot = cache, Progress = progress };
            string built = ControlNetResolver.Resolve(TinyControlNets.Get(TinyFamily.SdTurbo, onnx: false), options);
            Assert.StartsWith(Path.Combine(cache, "built", "controlnet-"), built);
            Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(built)!, "config.json")));
            Assert.Equal(built, ControlNetResolver.Resolve(TinyControlNets.Get(TinyFamily.SdTurbo, onnx: false), options));
            Assert.Contains(progress.Lines, l => l.StartsWith("using the cached build", StringComparison.Ordinal));
            using var controlnet = ControlNet.Load(built);
            Assert.Equal(4, controlnet.DownResidualCount);
            Assert.False(controlnet.UsesTextTime);

            var e = Assert.Throws<ModelLoadException>(() => ControlNetResolver.Resolve(Path.Combine(cache, "nothing-here"), options));
            Assert.Contains("nothing-here", e.Message);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static string ResolveTiny(TinyFamily family) => ControlNetResolver.Resolve(TinyControlNets.Get(family));
}

using System.Text.Json.Nodes;
using Onnx;
using TurboGen.Building;
using TurboGen.Graphs;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// The golden SDXL diffusers folder with F16 weights (the variant the CLI downloads), built with
/// <see cref="BuildPrecision.Float16"/> (what a GPU provider gets) into a temporary cache, plus the golden TAESD built in
/// float16, loaded once on the CPU provider.
/// </summary>
public sealed class BuiltGoldenFloat16ModelFixture : IDisposable
{
    public BuiltGoldenFloat16ModelFixture()
    {
        CacheRoot = TestPaths.NewTempDir("turbogen-cache-fp16");
        DiffusersDir = GoldenDiffusersFolder.Write(Path.Combine(TestPaths.NewTempDir("turbogen-diffusers-fp16"), "sdxl-turbo-tiny"), fp16: true);
        Options = new ModelResolveOptions { CacheRoot = CacheRoot, Precision = BuildPrecision.Float16 };
        OnnxDir = ModelResolver.Resolve(DiffusersDir, Options);
        TinyVaeDir = ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), Options);
        Model = TurboModel.Load(OnnxDir, new ModelLoadOptions { TinyVaePath = TinyVaeDir, Runtime = new RuntimeOptions { Threads = 1 } });
    }

    public string CacheRoot { get; }
    public string DiffusersDir { get; }
    public ModelResolveOptions Options { get; }
    public string OnnxDir { get; }
    public string TinyVaeDir { get; }
    public TurboModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(CacheRoot, recursive: true);
        Directory.Delete(Path.GetDirectoryName(DiffusersDir)!, recursive: true);
    }
}

/// <summary>The golden SDXL-Turbo pipeline end to end from a float16 build, within float16 tolerance.</summary>
public sealed class Float16PipelineTests(BuiltGoldenFloat16ModelFixture fixture, ITestOutputHelper output) : IClassFixture<BuiltGoldenFloat16ModelFixture>
{
    private const double Tolerance = 2e-2;
    private const double MinimumError = 1e-4;   // the float32 build matches within ~1e-6
    private const int Side = 128;

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Generate_MatchesTheGoldenPipeline_WithinFloat16Tolerance(int steps)
    {
        var model = fixture.Model;
        var pipeline = new TurboPipeline(model);
        var prompts = GoldenDiffusersFolder.Prompts();
        using var inputs = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, $"inputs_steps{steps}.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, $"outputs_steps{steps}.safetensors"));

        for (int b = 0; b < prompts.Count; b++)
        {
            var cond = new SdxlConditioner(model, new PromptEmbeddingCache()).Encode(prompts[b], "", 1, false, Side, Side, new StageTimings(), default);
            AssertClose("prompt_embeds", cond.EncoderHiddenStates.Data, golden.FloatItem("prompt_embeds", b));
            AssertClose("pooled_prompt_embeds", cond.TextEmbeds!.Data, golden.FloatItem("pooled_prompt_embeds", b));

            var request = new GenerationRequest
            {
                Prompt = prompts[b],
                Width = Side,
                Height = Side,
                Steps = steps,
                GuidanceScale = 0,
                Seed = 0,
                InitialNoise = inputs.FloatItemTensor("initial_noise", b),
                StepNoise = Enumerable.Range(0, steps).Select(i => inputs.FloatItemTensor($"step{i}.ancestral_noise", b)).ToList(),
            };
            var result = pipeline.Generate(request);
            AssertClose($"latents_{steps}[{b}]", result.Latents.Data, golden.FloatItem($"latents_{steps}", b));

            var decoded = model.VaeDecoder.Decode(new FloatTensor(result.Latents.Data.Select(v => v / model.ScalingFactor).ToArray(), result.Latents.Shape), default).Value;
            AssertClose($"image_decoded[{b}]", decoded.Data, golden.FloatItem("image_decoded", b));
            Assert.Single(result.Images);

            if (golden.Contains("image_taesd_decoded"))
            {
                AssertClose($"image_taesd_decoded[{b}]", model.TinyVaeDecoder!.Decode(result.Latents, default).Value.Data, golden.FloatItem("image_taesd_decoded", b));
            }
        }
    }

    [Fact]
    public void TheBuild_IsFloat16_ExceptTheForceUpcastVae_AndCachedApart()
    {
        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.OnnxDir, OnnxModelBuilder.BuildInfoFile)))!;
        Assert.Equal("fp16", (string?)info["precision"]);
        foreach (string name in new[] { "text_encoder", "text_encoder_2", "unet" })
        {
            Assert.Equal("fp16", (string?)info["components"]![name]!["precision"]);
            Assert.Equal(ElementType.Float16, DominantWeightType(Path.Combine(fixture.OnnxDir, name, "model.onnx")));
        }
        // The golden VAE says force_upcast: true (the SDXL VAE overflows in float16): it stays float32.
        foreach (string name in new[] { "vae_decoder", "vae_encoder" })
        {
            Assert.Equal("fp32", (string?)info["components"]![name]!["precision"]);
            Assert.Equal(ElementType.Float, DominantWeightType(Path.Combine(fixture.OnnxDir, name, "model.onnx")));
        }
        Assert.Equal(ElementType.Float16, DominantWeightType(Path.Combine(fixture.TinyVaeDir, "vae_decoder", "model.onnx")));

        // Cache folders: <hash>-b<version> for float32 (as before precisions existed), <hash>-b<version>-fp16 for float16.
        using var components = ModelResolver.OpenCheckpoint(fixture.DiffusersDir, fixture.Options);
        Assert.Equal(fixture.OnnxDir, BuiltModelCache.PathFor(components, fixture.CacheRoot, BuildPrecision.Float16));
        Assert.Equal(BuiltModelCache.PathFor(components, fixture.CacheRoot) + "-fp16", fixture.OnnxDir);
        Assert.EndsWith($"-b{BuiltModelCache.BuilderVersion}", BuiltModelCache.PathFor(components, fixture.CacheRoot));
        Assert.False(BuiltModelCache.IsBuilt(components, fixture.CacheRoot));
        Assert.True(BuiltModelCache.IsBuilt(components, fixture.CacheRoot, BuildPrecision.Float16));
        Assert.NotEqual(fixture.TinyVaeDir, ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), fixture.Options with { Precision = BuildPrecision.Float32 }));
        Assert.Equal(fixture.TinyVaeDir, ModelResolver.ResolveTinyVae(TestPaths.GoldenCase("taesd"), fixture.Options));
    }

    /// <summary>The element type holding most of the weight bytes of an ONNX file (initializers inline or external).</summary>
    internal static ElementType DominantWeightType(string modelPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        return model.Graph.Initializer
            .Where(t => t.DataType is (int)ElementType.Float or (int)ElementType.Float16)
            .GroupBy(t => (ElementType)t.DataType)
            .OrderByDescending(g => g.Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d)))
            .First().Key;
    }

    private void AssertClose(string what, float[] actual, float[] expected)
    {
        double error = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E3} > {Tolerance:E0}");
        Assert.True(error >= MinimumError, $"{what}: relative error {error:E3} is float32-like: did the float16 build run?");
    }
}

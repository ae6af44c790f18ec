using System.Text.Json;
using TurboGen.Building;
using TurboGen.Core.Tests.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// The golden SDXL ControlNet pipeline (diffusers 0.26.3 StableDiffusionXLControlNetPipeline on the tiny seeded components,
/// case pipeline_sdxl_controlnet_tiny) reproduced by <see cref="TurboPipeline"/>: the model built from its diffusers folder with
/// the UNet's residual inputs, the ControlNet built from controlnet_sdxl_tiny, the golden noise, scale 0.7, guidance 0…1.
/// </summary>
public sealed class ControlNetPipelineParityTests : IClassFixture<ControlNetPipelineParityTests.Fixture>
{
    private const double Tolerance = 1e-4;
    private const int Side = 128;
    private readonly Fixture _fixture;
    private readonly ITestOutputHelper _output;

    public ControlNetPipelineParityTests(Fixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    private static string Case => TestPaths.GoldenCase("pipeline_sdxl_controlnet_tiny");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Generate_MatchesTheGoldenControlNetPipeline(int steps)
    {
        var model = _fixture.Model;
        Assert.True(model.Unet.AcceptsControlResiduals);
        var pipeline = new TurboPipeline(model);
        using var inputs = new GoldenTensors(Path.Combine(Case, $"inputs_steps{steps}.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(Case, $"outputs_steps{steps}.safetensors"));
        var controlImage = ControlImage();
        var prompts = Prompts();

        for (int b = 0; b < prompts.Count; b++)
        {
            Assert.Equal(Row(golden.Int64("input_ids_1"), b), model.Tokenizer.Encode(prompts[b]).Ids.Select(i => (long)i).ToArray());
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
                Controls = [new ControlInput(_fixture.ControlNet, controlImage) { Scale = 0.7f, GuidanceStart = 0, GuidanceEnd = 1 }],
            };
            var result = pipeline.Generate(request);
            AssertClose($"latents_{steps}[{b}]", result.Latents.Data, golden.FloatItem($"latents_{steps}", b));
            Assert.Contains(result.Timings.Stages, e => e.Stage == "controlnet0.step0");
            var decoded = model.VaeDecoder.Decode(Scaled(result.Latents, 1f / model.ScalingFactor), default).Value;
            AssertClose($"image_decoded[{b}]", decoded.Data, golden.FloatItem("image_decoded", b));

            // The ControlNet alone on the golden step inputs (residuals × 0.7).
            var cond = new SdxlConditioner(model, new PromptEmbeddingCache()).Encode(prompts[b], "", 1, false, Side, Side, new StageTimings(), default);
            for (int i = 0; i < steps; i++)
            {
                var x = golden.FloatItemTensor($"step{i}.latent_model_input", b);
                var image = ControlStage.PrepareImage(controlImage, Side, Side, 1, false);
                var residuals = _fixture.ControlNet.Predict(x, golden.Float($"step{i}.timestep")[0], cond.EncoderHiddenStates, cond.TextEmbeds, cond.TimeIds, image, 0.7f, default).Value;
                AssertClose($"step{i}.controlnet_mid_block_res_sample[{b}]", residuals.Mid.Data, golden.FloatItem($"step{i}.controlnet_mid_block_res_sample", b));
                if (golden.Contains($"step{i}.controlnet_down_block_res_sample.00"))
                {
                    for (int k = 0; k < residuals.Down.Count; k++)
                    {
                        AssertClose($"step{i}.down.{k:D2}[{b}]", residuals.Down[k].Data, golden.FloatItem($"step{i}.controlnet_down_block_res_sample.{k:D2}", b));
                    }
                }
            }
        }
    }

    [Fact]
    public void ControlImage_IsPreparedAsDiffusersDoes()
    {
        using var golden = new GoldenTensors(Path.Combine(Case, "outputs_steps1.safetensors"));
        var prepared = ControlStage.PrepareImage(ControlImage(), Side, Side, batch: 2, classifierFree: true);
        Assert.Equal([4L, 3, Side, Side], prepared.Shape);
        float[] expected = golden.Float("control_image_preprocessed");
        Assert.Equal(expected, prepared.Data.AsSpan(0, expected.Length).ToArray());
        Assert.Equal(expected, prepared.Data.AsSpan(3 * expected.Length, expected.Length).ToArray());
    }

    [Fact]
    public void OutsideTheGuidanceWindow_TheControlNetIsNotRun_AndTheResultIsTheUncontrolledOne()
    {
        var model = _fixture.Model;
        var pipeline = new TurboPipeline(model);
        var plain = new GenerationRequest { Prompt = "a photo of a cat", Width = Side, Height = Side, Steps = 2, Seed = 5 };
        var expected = pipeline.Generate(plain);
        int runs = _fixture.ControlNet.RunCount;
        // With 2 steps, window [0, 0.4]: step 0 ends at 0.5 > 0.4 and step 1 starts at 0.5 — the ControlNet never acts.
        var result = pipeline.Generate(plain with { Controls = [new ControlInput(_fixture.ControlNet, ControlImage()) { GuidanceEnd = 0.4f }] });
        Assert.Equal(runs, _fixture.ControlNet.RunCount);
        Assert.Equal(expected.Latents.Data, result.Latents.Data);

        var acting = pipeline.Generate(plain with { Controls = [new ControlInput(_fixture.ControlNet, ControlImage()) { GuidanceStart = 0.5f }] });
        Assert.Equal(runs + 1, _fixture.ControlNet.RunCount);
        Assert.True(GoldenTensors.RelativeError(acting.Latents.Data, expected.Latents.Data) > 1e-3);
    }

    [Fact]
    public void BadControlFields_AreRefusedNamingTheField()
    {
        var request = new GenerationRequest { Prompt = "x", Width = Side, Height = Side };
        var tooStrong = request with { Controls = [new ControlInput(_fixture.ControlNet, ControlImage()) { Scale = 9 }] };
        var e = Assert.Throws<InvalidRequestException>(() => tooStrong.Validate(512));
        Assert.Equal("controlnet[0].scale", e.Parameter);
        var backwards = request with { Controls = [new ControlInput(_fixture.ControlNet, ControlImage()) { GuidanceStart = 0.6f, GuidanceEnd = 0.5f }] };
        e = Assert.Throws<InvalidRequestException>(() => backwards.Validate(512));
        Assert.Equal("controlnet[0].guidance_start", e.Parameter);
    }

    private void AssertClose(string what, float[] actual, float[] expected)
    {
        double error = GoldenTensors.RelativeError(actual, expected);
        _output.WriteLine($"{what}: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E3} > {Tolerance:E0}");
    }

    private static RgbImage ControlImage()
    {
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs_steps1.safetensors"));
        return new RgbImage(Side, Side, inputs.Bytes("control_image_u8_hwc"));
    }

    private static IReadOnlyList<string> Prompts()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Case, "config.json")));
        return doc.RootElement.GetProperty("call").GetProperty("prompt").EnumerateArray().Select(p => p.GetString()!).ToList();
    }

    private static long[] Row(long[] data, int b) => data.AsSpan(b * 77, 77).ToArray();

    private static FloatTensor Scaled(FloatTensor t, float factor) => new(t.Data.Select(v => v * factor).ToArray(), t.Shape);

    /// <summary>The golden SDXL folder built with the UNet's ControlNet residual inputs, and the golden ControlNet built, both loaded once.</summary>
    public sealed class Fixture : IDisposable
    {
        private readonly string _cacheRoot = TestPaths.NewTempDir("turbogen-cn-cache");
        private readonly string _diffusersRoot = TestPaths.NewTempDir("turbogen-cn-diffusers");

        public Fixture()
        {
            var options = new ModelResolveOptions { CacheRoot = _cacheRoot, ControlNetResiduals = true };
            string onnx = ModelResolver.Resolve(GoldenDiffusersFolder.Write(Path.Combine(_diffusersRoot, "sdxl-tiny")), options);
            Assert.EndsWith("-cn", onnx);
            var runtime = new RuntimeOptions { Threads = 1 };
            Model = TurboModel.Load(onnx, new ModelLoadOptions { Runtime = runtime });
            ControlNet = ControlNet.Load(ControlNetResolver.Resolve(TestPaths.GoldenCase("controlnet_sdxl_tiny"), options), runtime);
        }

        public TurboModel Model { get; }
        public ControlNet ControlNet { get; }

        public void Dispose()
        {
            Model.Dispose();
            ControlNet.Dispose();
            foreach (string dir in new[] { _cacheRoot, _diffusersRoot })
            {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}

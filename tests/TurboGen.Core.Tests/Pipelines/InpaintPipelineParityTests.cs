using System.Text.Json;
using TurboGen.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// The golden inpainting pipeline (diffusers 0.26.3 StableDiffusionInpaintPipeline on tiny seeded SD 1.5 components, case
/// pipeline_sd_inpaint_tiny: 10 runs with the 9-channel inpainting UNet and an ordinary 4-channel UNet) reproduced by
/// <see cref="TurboPipeline"/> with the golden noise: initial noise, VAE posterior-sample noise and ancestral step noise.
/// </summary>
public sealed class InpaintPipelineParityTests(InpaintPipelineParityTests.Fixture fixture, ITestOutputHelper output)
    : IClassFixture<InpaintPipelineParityTests.Fixture>
{
    private const double Tolerance = 1e-4;
    private const int Side = 128;

    private static string Case => GoldenDiffusersFolder.InpaintCase;

    public static TheoryData<string> Runs()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Case, "case.json")));
        var data = new TheoryData<string>();
        foreach (var run in doc.RootElement.GetProperty("runs").EnumerateObject()) data.Add(run.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void Generate_MatchesTheGoldenRun(string run)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Case, "case.json")));
        var spec = doc.RootElement.GetProperty("runs").GetProperty(run);
        bool nine = spec.GetProperty("unet").GetString() == "unet_sd15_inpaint_tiny";
        int steps = spec.GetProperty("num_inference_steps").GetInt32();
        int effective = spec.GetProperty("effective_steps").GetInt32();
        bool passed = spec.GetProperty("latents_passed").GetBoolean();
        var model = nine ? fixture.Inpainting : fixture.Plain;
        Assert.Equal(nine ? 9 : 4, model.Unet.SampleChannels);

        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
        var noise = inputs.FloatItemTensor($"{run}.initial_noise", 0);
        var request = new GenerationRequest
        {
            Prompt = "a photo of a cat",
            Width = Side,
            Height = Side,
            Steps = steps,
            Strength = spec.GetProperty("strength").GetSingle(),
            GuidanceScale = spec.GetProperty("guidance_scale").GetSingle(),
            Seed = 0,
            InitImage = new RgbImage(Side, Side, inputs.Bytes("init_image_u8_hwc")),
            Mask = new InpaintMask(Side, Side, inputs.Bytes("mask_u8_hw")),
            InitialNoise = passed ? null : noise,
            PassedLatents = passed ? noise : null,
            ImageSampleNoise = inputs.Contains($"{run}.vae_sample_noise.init_image") ? inputs.FloatItemTensor($"{run}.vae_sample_noise.init_image", 0) : null,
            MaskedImageSampleNoise = inputs.FloatItemTensor($"{run}.vae_sample_noise.masked_image", 0),
            StepNoise = Enumerable.Range(0, effective).Select(i => inputs.FloatItemTensor($"{run}.step{i}.ancestral_noise", 0)).ToList(),
        };
        var result = new TurboPipeline(model).Generate(request);

        Assert.Equal(effective, result.Timings.Stages.Count(s => s.Stage.StartsWith("unet.step", StringComparison.Ordinal)));
        Assert.Equal(nine, result.Timings.Stages.Any(s => s.Stage == "vae_encode.masked_image"));
        AssertClose($"{run} final_latents", result.Latents.Data, golden.Float($"{run}.final_latents"));
        var decoded = model.VaeDecoder.Decode(new FloatTensor(result.Latents.Data.Select(v => v / model.ScalingFactor).ToArray(), result.Latents.Shape), default).Value;
        AssertClose($"{run} image_decoded", decoded.Data, golden.Float($"{run}.image_decoded"));
    }

    [Fact]
    public void MaskLatent_IsTheTopLeftPixelOfEachCell_BinarisedAt128()
    {
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
        byte[] mask = inputs.Bytes("mask_u8_hw");
        Assert.Contains(mask, v => v is > 0 and < 255);   // the case has grey values on both sides of the threshold
        var model = fixture.Inpainting;
        var request = new GenerationRequest { Prompt = "x", Width = Side, Height = Side, Strength = 1f, Seed = 1,
            InitImage = new RgbImage(Side, Side, inputs.Bytes("init_image_u8_hwc")), Mask = new InpaintMask(Side, Side, mask) };
        var stage = InpaintStage.Prepare(model, new TurboPipeline(model).Scheduler, request, Side, Side, [new NoiseStream(1)], new StageTimings(), default);
        var input = stage.UnetInput(FloatTensor.Zeros(1, 4, 16, 16));
        Assert.Equal([1L, 9, 16, 16], input.Shape);
        Assert.Equal(golden.Float("mask_latent"), input.Data.AsSpan(4 * 256, 256).ToArray());
    }

    private void AssertClose(string what, float[] actual, float[] expected)
    {
        double error = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E3} > {Tolerance:E0}");
    }

    /// <summary>The two golden SD 1.5 folders (9-channel inpainting UNet, 4-channel UNet) built and loaded once.</summary>
    public sealed class Fixture : IDisposable
    {
        private readonly string _root = TestPaths.NewTempDir("turbogen-inpaint-golden");

        public Fixture()
        {
            var options = new ModelResolveOptions { CacheRoot = Path.Combine(_root, "cache") };
            var runtime = new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1 } };
            Inpainting = TurboModel.Load(ModelResolver.Resolve(GoldenDiffusersFolder.WriteSdInpaint(Path.Combine(_root, "sd15-inpaint"), "unet_sd15_inpaint_tiny"), options), runtime);
            Plain = TurboModel.Load(ModelResolver.Resolve(GoldenDiffusersFolder.WriteSdInpaint(Path.Combine(_root, "sd15"), "unet_sd15_tiny"), options), runtime);
        }

        public TurboModel Inpainting { get; }
        public TurboModel Plain { get; }

        public void Dispose()
        {
            Inpainting.Dispose();
            Plain.Dispose();
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

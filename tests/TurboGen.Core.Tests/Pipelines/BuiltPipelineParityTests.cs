using TurboGen.Core.Tests.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// The key proof that builder and engine are right together: the golden SDXL-Turbo pipeline (diffusers 0.26.3 on tiny
/// seeded components) reproduced end to end from a diffusers safetensors folder built by TurboGen, loaded by
/// <see cref="TurboModel.Load"/> and run by <see cref="TurboPipeline.Generate"/> with the golden noise.
/// </summary>
[Collection("built-golden-model")]
public sealed class BuiltPipelineParityTests(BuiltGoldenModelFixture fixture, ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const int Side = 128;

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Generate_MatchesTheGoldenPipeline(int steps)
    {
        output.WriteLine($"build {fixture.BuildSeconds:F2} s, tiny VAE build {fixture.TinyVaeBuildSeconds:F2} s, load {fixture.LoadSeconds:F2} s");
        var model = fixture.Model;
        var pipeline = new TurboPipeline(model);
        var prompts = GoldenDiffusersFolder.Prompts();
        using var inputs = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, $"inputs_steps{steps}.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, $"outputs_steps{steps}.safetensors"));

        for (int b = 0; b < prompts.Count; b++)
        {
            // Tokenizers: the ids the golden pipeline fed its encoders.
            Assert.Equal(Row(inputs.Int64("input_ids_1"), b, 77), model.Tokenizer.Encode(prompts[b]).Ids.Select(i => (long)i).ToArray());
            Assert.Equal(Row(inputs.Int64("input_ids_2"), b, 77), model.Tokenizer2!.Encode(prompts[b]).Ids.Select(i => (long)i).ToArray());

            // Conditioning: prompt_embeds, pooled text_embeds, time_ids.
            var cond = new SdxlConditioner(model, new PromptEmbeddingCache()).Encode(prompts[b], "", 1, false, Side, Side, new StageTimings(), default);
            AssertClose("prompt_embeds", cond.EncoderHiddenStates.Data, golden.FloatItem("prompt_embeds", b));
            AssertClose("pooled_prompt_embeds", cond.TextEmbeds!.Data, golden.FloatItem("pooled_prompt_embeds", b));
            Assert.Equal(golden.FloatItem("add_time_ids", b), cond.TimeIds!.Data);

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

            // Full VAE: the float decode, and the uint8 image as diffusers' postprocess gives it.
            var expectedImage = golden.FloatItem("image_decoded", b);
            var decoded = model.VaeDecoder.Decode(Scaled(result.Latents, 1f / model.ScalingFactor), default).Value;
            AssertClose($"image_decoded[{b}]", decoded.Data, expectedImage);
            AssertPixels($"image[{b}]", Assert.Single(result.Images), expectedImage);

            if (golden.Contains("image_taesd_decoded"))
            {
                var expectedTiny = golden.FloatItem("image_taesd_decoded", b);
                AssertClose($"image_taesd_decoded[{b}]", model.TinyVaeDecoder!.Decode(result.Latents, default).Value.Data, expectedTiny);
                var tiny = pipeline.Generate(request with { UseTinyVae = true });
                Assert.Equal(result.Latents.Data, tiny.Latents.Data);
                AssertPixels($"taesd image[{b}]", Assert.Single(tiny.Images), expectedTiny);
            }
        }
    }

    [Fact]
    public void LoadSettings_PrepackingAndArenaRelease_DoNotChangeTheImage()
    {
        // Defaults: weights pre-packed, activation memory released after each run except by the tiny VAE.
        var model = fixture.Model;
        Assert.True(new RuntimeOptions().PrepackWeights);
        Assert.True(new RuntimeOptions().ReleaseMemoryAfterRun);
        Assert.All(new OnnxComponent?[] { model.TextEncoder, model.TextEncoder2, model.Unet, model.VaeDecoder }, c => Assert.True(c!.ReleaseMemoryAfterRun, c.Name));
        Assert.False(model.TinyVaeDecoder!.ReleaseMemoryAfterRun);

        using var other = TurboModel.Load(fixture.OnnxDir, new ModelLoadOptions
        {
            TinyVaePath = fixture.TinyVaeDir,
            Runtime = new RuntimeOptions { Threads = 1, PrepackWeights = false, ReleaseMemoryAfterRun = false },
        });
        Assert.False(other.Unet.ReleaseMemoryAfterRun);
        var request = new GenerationRequest { Prompt = GoldenDiffusersFolder.Prompts()[0], Width = Side, Height = Side, Steps = 2, GuidanceScale = 0, Seed = 7 };
        for (int i = 0; i < 2; i++) // the second run allocates again after the arena was released
        {
            var expected = new TurboPipeline(model).Generate(request);
            var actual = new TurboPipeline(other).Generate(request);
            double error = GoldenTensors.RelativeError(actual.Latents.Data, expected.Latents.Data);
            output.WriteLine($"run {i}: latents without pre-packing/arena release vs default: relative error {error:E2}");
            Assert.True(error <= 1e-5, $"relative error {error:E3}");
            Assert.Equal(expected.Images[0].Pixels.Length, actual.Images[0].Pixels.Length);
        }
    }

    private void AssertClose(string what, float[] actual, float[] expected)
    {
        double error = GoldenTensors.RelativeError(actual, expected);
        output.WriteLine($"{what}: relative error {error:E2}");
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E3} > {Tolerance:E0}");
    }

    /// <summary>Our 8-bit image vs clamp(x/2+0.5, 0, 1)·255 of the golden float image, within ±1 per channel.</summary>
    private void AssertPixels(string what, RgbImage image, float[] expectedChw)
    {
        Assert.Equal((Side, Side), (image.Width, image.Height));
        int plane = Side * Side, worst = 0;
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < plane; i++)
            {
                int expected = (int)Math.Round(Math.Clamp(expectedChw[c * plane + i] / 2f + 0.5f, 0f, 1f) * 255f);
                worst = Math.Max(worst, Math.Abs(image.Pixels[3 * i + c] - expected));
            }
        }
        output.WriteLine($"{what}: max pixel difference {worst}");
        Assert.True(worst <= 1, $"{what}: a pixel differs by {worst} (> 1) from the golden image");
    }

    private static long[] Row(long[] data, int b, int width) => data.AsSpan(b * width, width).ToArray();

    private static FloatTensor Scaled(FloatTensor t, float factor) => new(t.Data.Select(v => v * factor).ToArray(), t.Shape);
}

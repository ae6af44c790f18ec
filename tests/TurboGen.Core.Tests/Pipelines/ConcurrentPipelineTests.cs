using System.Runtime.InteropServices;
using TurboGen.Pipelines;
using TurboGen.Tensors;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// One <see cref="TurboPipeline"/> serves concurrent requests: two different generations started together on one pipeline
/// give, bit for bit, what each gives alone, and each result's timings are its own (its own stages; every stage's ONNX
/// Runtime time is part of that stage's wall time, which a time shared between requests would not guarantee).
/// </summary>
[Collection("tiny-models")]
public sealed class ConcurrentPipelineTests(TinyModelFixture fixture)
{
    [Theory]
    [InlineData(TinyFamily.SdxlTurbo)]
    [InlineData(TinyFamily.SdTurbo)]
    public async Task ConcurrentGenerations_EqualSequentialRuns_AndKeepTheirOwnTimings(TinyFamily family)
    {
        var model = fixture.Get(family, TinyFlavor.OptimumNew);
        // No prompt cache, so the text encoders run in every request too.
        var pipeline = new TurboPipeline(model, new PromptEmbeddingCache(capacity: 0));
        var init = pipeline.Generate(new GenerationRequest { Prompt = "a red barn", Seed = 1, Width = 64, Height = 64 }).Images[0];
        // Different prompts, seeds, sizes, step counts, batch and guidance, text-to-image and image-to-image: different stage lists.
        var a = new GenerationRequest { Prompt = "a lighthouse at dusk", Seed = 7, Width = 64, Height = 64, Steps = 2 };
        var b = new GenerationRequest
        {
            Prompt = "a watercolor of a fox", NegativePrompt = "blurry", Seed = 8, Width = 64, Height = 80, Steps = 3,
            BatchSize = 2, GuidanceScale = 2f,
        };
        var c = new GenerationRequest { Prompt = "a cabin in the snow", Seed = 9, Width = 64, Height = 64, Steps = 4, InitImage = init, Strength = 0.5f };
        var alone = new[] { a, b, c }.Select(r => pipeline.Generate(r)).ToArray();
        int[] unetSteps = [2, 3, 2]; // c: strength 0.5 of 4 steps runs the last 2

        for (int round = 0; round < 3; round++)
        {
            using var start = new Barrier(3);
            // One thread per request, released together.
            var together = await Task.WhenAll(new[] { a, b, c }.Select(r => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return pipeline.Generate(r);
            }, TaskCreationOptions.LongRunning)));
            for (int i = 0; i < together.Length; i++)
            {
                AssertBitwiseEqual(alone[i], together[i]);
                AssertOwnTimings(alone[i], together[i], unetSteps[i]);
            }
        }
    }

    private static void AssertBitwiseEqual(GenerationResult expected, GenerationResult actual)
    {
        Assert.Equal(expected.Seeds, actual.Seeds);
        Assert.Equal(expected.Latents.Shape, actual.Latents.Shape);
        Assert.True(MemoryMarshal.AsBytes(expected.Latents.Data.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(actual.Latents.Data.AsSpan())),
            $"The latents of seed {expected.Seeds[0]} differ when generated concurrently.");
        Assert.Equal(expected.Images.Count, actual.Images.Count);
        for (int i = 0; i < expected.Images.Count; i++)
        {
            Assert.Equal(expected.Images[i].Pixels, actual.Images[i].Pixels);
        }
    }

    private static void AssertOwnTimings(GenerationResult alone, GenerationResult together, int unetSteps)
    {
        Assert.Equal(unetSteps, together.Timings.Stages.Count(s => s.Stage.StartsWith("unet.", StringComparison.Ordinal)));
        Assert.Equal(alone.Timings.Stages.Select(s => s.Stage), together.Timings.Stages.Select(s => s.Stage));
        foreach (var stage in together.Timings.Stages)
        {
            bool runsOnnx = !stage.Stage.StartsWith("tokenize.", StringComparison.Ordinal);
            Assert.True(runsOnnx ? stage.OnnxMilliseconds > 0 : stage.OnnxMilliseconds == 0, $"{stage.Stage}: ONNX time {stage.OnnxMilliseconds} ms");
            Assert.True(stage.OnnxMilliseconds <= stage.Milliseconds,
                $"{stage.Stage}: {stage.OnnxMilliseconds} ms in ONNX Runtime but {stage.Milliseconds} ms in the stage: the time is not this request's.");
        }
    }

    [Fact]
    public void AComponentReturnsItsOwnRunTime()
    {
        var model = fixture.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew);
        var latents = new FloatTensor(Enumerable.Range(0, 4 * 8 * 8).Select(i => MathF.Sin(i)).ToArray(), [1, 4, 8, 8]);
        var (pixels, onnxMs) = model.VaeDecoder.Decode(latents, default);
        Assert.Equal([1L, 3, 64, 64], pixels.Shape);
        Assert.True(onnxMs > 0);
    }
}

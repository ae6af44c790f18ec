using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

[Collection("tiny-models")]
public sealed class PipelineTests(TinyModelFixture fixture)
{
    public static TheoryData<TinyFamily, TinyFlavor> AllFlavors()
    {
        var data = new TheoryData<TinyFamily, TinyFlavor>();
        foreach (var family in Enum.GetValues<TinyFamily>())
            foreach (var flavor in Enum.GetValues<TinyFlavor>())
                data.Add(family, flavor);
        return data;
    }

    private static GenerationRequest Request(string prompt = "a photo of a cat", long seed = 42) =>
        new() { Prompt = prompt, Seed = seed, Width = 64, Height = 64 };

    [Theory]
    [MemberData(nameof(AllFlavors))]
    public void TextToImage_IsDeterministic_AndPromptAndSeedMatter(TinyFamily family, TinyFlavor flavor)
    {
        var model = fixture.Get(family, flavor);
        Assert.Equal(family == TinyFamily.SdxlTurbo ? ModelFamily.Sdxl : ModelFamily.Sd, model.Family);
        var pipeline = new TurboPipeline(model);

        var a = pipeline.Generate(Request());
        var again = pipeline.Generate(Request());
        var otherPrompt = pipeline.Generate(Request("a watercolor of a lighthouse"));
        var otherSeed = pipeline.Generate(Request(seed: 43));

        var image = Assert.Single(a.Images);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Equal(image.Pixels, again.Images[0].Pixels);
        Assert.NotEqual(image.Pixels, otherPrompt.Images[0].Pixels);
        Assert.NotEqual(image.Pixels, otherSeed.Images[0].Pixels);
        Assert.Equal([42L], a.Seeds);
        // The image is not flat: the networks compute something.
        Assert.True(image.Pixels.Distinct().Count() > 16);
    }

    [Theory]
    [MemberData(nameof(AllFlavors))]
    public void ImageToImage_StrengthChangesOutput(TinyFamily family, TinyFlavor flavor)
    {
        var pipeline = new TurboPipeline(fixture.Get(family, flavor));
        var init = pipeline.Generate(Request("a red barn")).Images[0];
        var weak = pipeline.Generate(Request() with { InitImage = init, Strength = 0.3f, Steps = 4 });
        var strong = pipeline.Generate(Request() with { InitImage = init, Strength = 1.0f, Steps = 4 });
        var weakAgain = pipeline.Generate(Request() with { InitImage = init, Strength = 0.3f, Steps = 4 });
        Assert.Equal(weak.Images[0].Pixels, weakAgain.Images[0].Pixels);
        Assert.NotEqual(weak.Images[0].Pixels, strong.Images[0].Pixels);
        Assert.Contains(weak.Timings.Stages, s => s.Stage == "vae_encode");
        // A weak strength stays closer to the init image than a full-strength run.
        Assert.True(MeanAbs(weak.Images[0], init) < MeanAbs(strong.Images[0], init));
    }

    [Fact]
    public void ImageToImage_AnyInitSize_IsResizedToRequest()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        var odd = new RgbImage(100, 37, Enumerable.Range(0, 100 * 37 * 3).Select(i => (byte)(i * 7)).ToArray());
        var result = pipeline.Generate(Request() with { InitImage = odd, Width = 72, Height = 80, Strength = 0.5f, Steps = 2 });
        Assert.Equal((72, 80), (result.Images[0].Width, result.Images[0].Height));
    }

    [Fact]
    public void ImageToImage_TooSmallProduct_StillRunsOneStep()
    {
        var model = fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew);
        var pipeline = new TurboPipeline(model);
        var init = new RgbImage(64, 64, new byte[64 * 64 * 3]);
        int before = model.Unet.RunCount;
        var result = pipeline.Generate(Request() with { InitImage = init, Strength = 0.2f, Steps = 2 }); // int(2*0.2) = 0
        Assert.Equal(1, model.Unet.RunCount - before);
        Assert.Single(result.Timings.Stages, s => s.Stage.StartsWith("unet.", StringComparison.Ordinal));
    }

    [Fact]
    public void Batch_ImageI_EqualsSingleRunWithSeedPlusI()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        var batch = pipeline.Generate(Request() with { BatchSize = 3, Steps = 2 });
        Assert.Equal([42L, 43L, 44L], batch.Seeds);
        var third = pipeline.Generate(Request(seed: 44) with { Steps = 2 });
        Assert.Equal(third.Images[0].Pixels, batch.Images[2].Pixels);
        Assert.NotEqual(batch.Images[0].Pixels, batch.Images[1].Pixels);
    }

    [Fact]
    public void SamePromptNewSeed_DoesNotRerunTheEncoders()
    {
        var model = fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.Olive);
        var pipeline = new TurboPipeline(model);
        pipeline.Generate(Request("cache me please"));
        int te1 = model.TextEncoder.RunCount, te2 = model.TextEncoder2!.RunCount;
        var second = pipeline.Generate(Request("cache me please", seed: 7) with { Steps = 3 });
        Assert.Equal(te1, model.TextEncoder.RunCount);
        Assert.Equal(te2, model.TextEncoder2.RunCount);
        Assert.Contains(second.Timings.Stages, s => s.Stage.EndsWith(".cached", StringComparison.Ordinal));
    }

    [Fact]
    public void Timings_CoverEveryStage()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        var result = pipeline.Generate(Request("timings " + Guid.NewGuid()) with { Steps = 4 });
        var names = result.Timings.Stages.Select(s => s.Stage).ToList();
        Assert.Contains("tokenize.text_encoder", names);
        Assert.Contains("encode.text_encoder_2", names);
        Assert.Equal(4, names.Count(n => n.StartsWith("unet.step", StringComparison.Ordinal)));
        Assert.Contains("decode.vae", names);
        Assert.All(result.Timings.Stages.Where(s => s.Stage.StartsWith("unet", StringComparison.Ordinal)), s => Assert.True(s.OnnxMilliseconds > 0));
    }

    [Fact]
    public void TinyVae_DecodesTheSameLatents_Differently()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        var full = pipeline.Generate(Request());
        var tiny = pipeline.Generate(Request() with { UseTinyVae = true });
        Assert.Equal(full.Latents.Data, tiny.Latents.Data);
        Assert.NotEqual(full.Images[0].Pixels, tiny.Images[0].Pixels);
        var refined = pipeline.Decode(tiny.Latents, tinyVae: false, new StageTimings());
        Assert.Equal(full.Images[0].Pixels, refined[0].Pixels);
    }

    [Fact]
    public void LatentsOnly_SkipsDecoding()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew));
        var result = pipeline.Generate(Request() with { LatentsOnly = true });
        Assert.Empty(result.Images);
        Assert.Equal([1L, 4, 8, 8], result.Latents.Shape);
    }

    [Theory]
    [InlineData(TinyFamily.SdxlTurbo)]
    [InlineData(TinyFamily.SdTurbo)]
    public void Guidance_AboveOne_EnablesCfg(TinyFamily family)
    {
        var pipeline = new TurboPipeline(fixture.Get(family, TinyFlavor.OptimumNew));
        var plain = pipeline.Generate(Request());
        var half = pipeline.Generate(Request() with { GuidanceScale = 0.9f });
        var guided = pipeline.Generate(Request() with { GuidanceScale = 3f });
        var negative = pipeline.Generate(Request() with { GuidanceScale = 3f, NegativePrompt = "blurry" });
        Assert.Equal(plain.Images[0].Pixels, half.Images[0].Pixels);       // 0 < g ≤ 1 behaves like 0
        Assert.NotEqual(plain.Images[0].Pixels, guided.Images[0].Pixels);
        Assert.NotEqual(guided.Images[0].Pixels, negative.Images[0].Pixels);
    }

    [Fact]
    public void Progress_ReportsEachStep_WithPreview()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        var events = new List<GenerationProgress>();
        pipeline.Generate(Request() with { Steps = 3, PreviewSteps = true }, new SyncProgress(events.Add));
        var steps = events.Where(e => e.Stage == "denoise").ToList();
        Assert.Equal([1, 2, 3], steps.Select(e => e.Step));
        Assert.All(steps, e => Assert.Equal(64, e.Preview!.Width));
        Assert.Equal("done", events[^1].Stage);
    }

    [Fact]
    public void Cancellation_StopsBeforeWork()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(Request("cancelled " + Guid.NewGuid()), null, cts.Token));
    }

    [Fact]
    public void Cancellation_BetweenSteps()
    {
        var model = fixture.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew);
        var pipeline = new TurboPipeline(model);
        using var cts = new CancellationTokenSource();
        int before = model.Unet.RunCount;
        var progress = new SyncProgress(e => { if (e.Stage == "denoise" && e.Step == 1) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Generate(Request() with { Steps = 4 }, progress, cts.Token));
        Assert.Equal(1, model.Unet.RunCount - before);
    }

    [Fact]
    public void LongPrompt_IsReportedTruncated()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew));
        Assert.False(pipeline.Generate(Request()).PromptTruncated);
        string longPrompt = string.Join(" ", Enumerable.Range(0, 100).Select(i => $"word{i}"));
        Assert.True(pipeline.Generate(Request(longPrompt)).PromptTruncated);
    }

    [Theory]
    [InlineData(63, 64, "width")]
    [InlineData(64, 2056, "height")]
    [InlineData(32, 64, "width")]
    public void BadSize_IsRejected(int w, int h, string field)
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew));
        var e = Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { Width = w, Height = h }));
        Assert.Equal(field, e.Parameter);
    }

    [Fact]
    public void BadParameters_AreRejectedWithTheirName()
    {
        var pipeline = new TurboPipeline(fixture.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew));
        var init = new RgbImage(8, 8, new byte[8 * 8 * 3]);
        Assert.Equal("steps", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { Steps = 0 })).Parameter);
        Assert.Equal("steps", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { Steps = 51 })).Parameter);
        Assert.Equal("batch_size", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { BatchSize = 17 })).Parameter);
        Assert.Equal("strength", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { InitImage = init, Strength = 0 })).Parameter);
        Assert.Equal("strength", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { InitImage = init, Strength = 1.5f })).Parameter);
        Assert.Equal("seed", Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request() with { Seed = -5 })).Parameter);
    }

    private static double MeanAbs(RgbImage a, RgbImage b) =>
        a.Pixels.Zip(b.Pixels, (x, y) => Math.Abs(x - y)).Average();

    /// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<GenerationProgress> onReport) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => onReport(value);
    }
}

using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Realtime.Protocol;
using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests;

/// <summary>
/// Issue 15.3: a negative prompt is used only with classifier-free guidance (scale &gt; 1), and frames and the kept PNG's
/// metadata record what was actually used.
/// </summary>
public sealed class GuidanceTests
{
    [Fact]
    public async Task ANegativePrompt_WithoutGuidance_ChangesNothing_AndIsNotRecorded()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a harbour", seed: 4));
        var plain = await client.NextFrameAsync();
        int unet = server.UnetRuns();

        await client.SendAsync(Generate(2, "a harbour", seed: 4) with { Negative = "boats" });
        var negativeOnly = await client.NextFrameAsync();
        Assert.Equal(unet, server.UnetRuns());
        Assert.Equal(plain.Image, negativeOnly.Image);
        Assert.Equal(("", (double?)null), (negativeOnly.Frame!.Negative, negativeOnly.Frame.Guidance));

        await client.SendAsync(Generate(3, "a harbour", seed: 4) with { Negative = "boats", Keep = true });
        var kept = await client.NextFrameAsync(f => f.Kind == FrameKinds.Refined);
        var text = PngText.ReadTextChunks(await File.ReadAllBytesAsync(Path.Combine(server.Options.OutputDir, kept.Frame!.File!)));
        var record = GenerationMetadata.ParseJson(text[PngText.TurboGenKey])!;
        Assert.Equal(("", 1f), (record.NegativePrompt, record.GuidanceScale));
        Assert.DoesNotContain("Negative prompt", text[PngText.ParametersKey]);
        Assert.Contains("CFG scale: 1,", text[PngText.ParametersKey]);
    }

    [Fact]
    public async Task WithGuidance_TheNegativePromptIsUsed_AndRecorded()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a harbour", seed: 4));
        var plain = await client.NextFrameAsync();
        int unet = server.UnetRuns();

        await client.SendAsync(Generate(2, "a harbour", seed: 4) with { Negative = "boats", Guidance = 2, Keep = true });
        var guided = await client.NextFrameAsync();
        Assert.Equal(unet + 1, server.UnetRuns());
        Assert.Equal(2, guided.Frame!.Guidance);
        Assert.Equal("boats", guided.Frame.Negative);
        Assert.NotEqual(plain.Image, guided.Image);

        var kept = await client.NextFrameAsync(f => f.Kind == FrameKinds.Refined);
        var text = PngText.ReadTextChunks(await File.ReadAllBytesAsync(Path.Combine(server.Options.OutputDir, kept.Frame!.File!)));
        var record = GenerationMetadata.ParseJson(text[PngText.TurboGenKey])!;
        Assert.Equal((guided.Frame.Negative, 2f), (record.NegativePrompt, record.GuidanceScale));
        Assert.Contains("Negative prompt: boats\n", text[PngText.ParametersKey]);
        Assert.Contains("CFG scale: 2,", text[PngText.ParametersKey]);

        // The same picture with guidance, decoded directly: what was recorded reproduces it.
        var reference = server.Worker().Pipeline.Generate(new GenerationRequest
        {
            Prompt = record.Prompt, NegativePrompt = record.NegativePrompt, GuidanceScale = record.GuidanceScale, Seed = 4, Width = 64, Height = 64,
        });
        Assert.Equal(ImageCodec.EncodeJpeg(reference.Images[0], Realtime.FrameEncoder.JpegQuality), kept.Image);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(51)]
    public async Task GuidanceOutOfRange_IsAnErrorNamingGuidance(double guidance)
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Generate(1, "a harbour") with { Guidance = guidance });
        var error = await client.NextTextAsync("error");
        Assert.Equal("guidance", error.Text!.Value.GetProperty("field").GetString());
    }
}

using TurboGen.Imaging;
using TurboGen.Testing;

namespace TurboGen.Cli.Tests;

/// <summary>
/// <c>turbogen generate</c> on diffusers folders around the golden LCM-distilled and SDXS-shaped UNets (built by the CLI on
/// first use): guidance reaches an LCM UNet through its embedding, and the block-removed UNet makes an image in one step with TAESD.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class UnetVariantGenerateTests(CliFixture fixture)
{
    [Fact]
    public async Task LcmModel_GeneratesWithItsScheduler_AndTheGuidanceScaleChangesTheImage()
    {
        string home = fixture.NewHome(), work = fixture.NewWorkDir();
        string model = GoldenDiffusersFolder.WriteSd(Path.Combine(work, "lcm-tiny"), "unet_lcm_tiny", GoldenDiffusersFolder.LcmSchedulerJson(), "LatentConsistencyModelPipeline");
        string[] common = ["generate", "a cat", "-m", model, "--size", "64x64", "--seed", "4", "--steps", "2", "--threads", "1"];

        var eight = await fixture.RunInAsync(home, work, [.. common, "--guidance", "8", "-o", "g8.png"]);
        Assert.True(eight.ExitCode == 0, eight.ToString());
        var two = await fixture.RunInAsync(home, work, [.. common, "--guidance", "2", "-o", "g2.png"]);
        Assert.True(two.ExitCode == 0, two.ToString());
        var negative = await fixture.RunInAsync(home, work, [.. common, "--guidance", "8", "--negative", "a dog", "-o", "neg.png"]);
        Assert.True(negative.ExitCode == 0, negative.ToString());

        byte[] g8 = File.ReadAllBytes(Path.Combine(work, "g8.png"));
        string parameters = PngText.ReadTextChunks(g8)[PngText.ParametersKey];
        Assert.Contains("Sampler: LCM", parameters);
        Assert.Contains("CFG scale: 8", parameters);
        Assert.NotEqual(ImageCodec.Decode(g8).Pixels, ImageCodec.Decode(File.ReadAllBytes(Path.Combine(work, "g2.png"))).Pixels);
        // No classifier-free guidance for an LCM UNet: the negative prompt changes nothing.
        byte[] neg = File.ReadAllBytes(Path.Combine(work, "neg.png"));
        Assert.Equal(ImageCodec.Decode(g8).Pixels, ImageCodec.Decode(neg).Pixels);
        Assert.DoesNotContain("Negative prompt", PngText.ReadTextChunks(neg)[PngText.ParametersKey]);
    }

    [Fact]
    public async Task SdxsShapedModel_GeneratesInOneStep_WithTheTinyVae()
    {
        string home = fixture.NewHome(), work = fixture.NewWorkDir();
        string model = GoldenDiffusersFolder.WriteSd(Path.Combine(work, "sdxs-tiny"), "unet_sdxs_tiny", TinyModels.SchedulerJson("EulerDiscreteScheduler"));
        var run = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", model, "--size", "64x64", "--seed", "4", "--steps", "1",
            "--tiny-vae", TestPaths.GoldenCase("taesd"), "-o", "sdxs.png", "--threads", "1", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var image = ImageCodec.Decode(File.ReadAllBytes(Path.Combine(work, "sdxs.png")));
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.Contains("tiny_vae", run.Stdout);
    }
}

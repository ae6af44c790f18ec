using TurboGen.Imaging;
using TurboGen.Testing;

namespace TurboGen.Cli.Tests;

/// <summary><c>turbogen generate --control MODULE:FILE[:SCALE] --controlnet MODEL</c> on the test kit's tiny controlled model and ControlNet.</summary>
[Collection(CliCollection.Name)]
public sealed class ControlNetGenerateTests(CliFixture fixture)
{
    private static string ControlImage(string dir)
    {
        var pixels = Enumerable.Range(0, 64 * 64).SelectMany(i => (i % 64 / 8 + i / 64 / 8) % 2 == 0 ? new byte[] { 240, 240, 240 } : new byte[] { 10, 10, 10 }).ToArray();
        string path = Path.Combine(dir, "control.png");
        ImageCodec.SavePng(new RgbImage(64, 64, pixels), path);
        return path;
    }

    [Fact]
    public async Task Control_ChangesTheImage_AndScaleZeroDoesNot()
    {
        string model = TinyModels.GetControlled(TinyFamily.SdxlTurbo);
        string controlnet = TinyControlNets.Get(TinyFamily.SdxlTurbo, onnx: false);   // a diffusers folder: built by the CLI
        string work = fixture.NewWorkDir();
        string image = ControlImage(work);
        string[] common = ["generate", "a cat", "-m", model, "--size", "64x64", "--seed", "3", "--threads", "1"];
        var plain = await fixture.RunInAsync(fixture.PulledHome, work, [.. common, "-o", "plain.png"]);
        var zero = await fixture.RunInAsync(fixture.PulledHome, work, [.. common, "-o", "zero.png", "--control", $"canny:{image}:0", "--controlnet", controlnet]);
        var steered = await fixture.RunInAsync(fixture.PulledHome, work, [.. common, "-o", "steered.png", "--control", $"canny:{image}:1.0", "--controlnet", controlnet]);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.True(zero.ExitCode == 0, zero.ToString());
        Assert.True(steered.ExitCode == 0, steered.ToString());
        Assert.Contains("controlnet0.step0", steered.Stdout);
        var p = ImageCodec.Decode(File.ReadAllBytes(Path.Combine(work, "plain.png"))).Pixels;
        Assert.Equal(p, ImageCodec.Decode(File.ReadAllBytes(Path.Combine(work, "zero.png"))).Pixels);
        Assert.NotEqual(p, ImageCodec.Decode(File.ReadAllBytes(Path.Combine(work, "steered.png"))).Pixels);
    }

    [Theory]
    [InlineData("sobel:{0}", "Unknown control module 'sobel'")]
    [InlineData("canny:{0}:9", "must be between 0 and 5")]
    [InlineData("canny:missing.png", "Control image not found")]
    public async Task BadControl_IsRefusedBeforeLoading(string spec, string message)
    {
        string work = fixture.NewWorkDir();
        string image = ControlImage(work);
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--control", string.Format(spec, image), "--controlnet", work);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.Stderr);
    }

    [Fact]
    public async Task ControlWithoutControlNet_IsRefused_AndAnOnnxUnetWithoutInputsExplainsItself()
    {
        string work = fixture.NewWorkDir();
        string image = ControlImage(work);
        var missing = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--control", $"canny:{image}");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("one --controlnet MODEL per --control", missing.Stderr);

        var plainUnet = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "-m", fixture.ModelFolder, "--size", "64x64",
            "--control", $"canny:{image}", "--controlnet", TinyControlNets.Get(TinyFamily.SdxlTurbo));
        Assert.NotEqual(0, plainUnet.ExitCode);
        Assert.Contains("cannot take ControlNet residuals", plainUnet.Stderr);
    }
}

using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Testing;
using TurboGen.Testing.FakeHub;

namespace TurboGen.Cli.Tests;

/// <summary><c>turbogen upscale</c> end to end: the tiny ESRGAN from a file and from the fake Hub, Lanczos, refine with the tiny turbo model, bad input.</summary>
[Collection(CliCollection.Name)]
public sealed class UpscaleTests(CliFixture fixture)
{
    private static string WriteInput(string work, int width, int height, string name = "in.png")
    {
        var px = new byte[width * height * 3];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 37 % 251);
        string path = Path.Combine(work, name);
        ImageCodec.SavePng(new RgbImage(width, height, px), path);
        return path;
    }

    [Fact]
    public async Task EsrganFile_X4_WritesTheEnlargedImage_AndJson()
    {
        string work = fixture.NewWorkDir();
        WriteInput(work, 40, 24);
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "in.png", "--model", TinyEsrgan.Get(4), "--tile", "16", "-o", "big.png", "--json", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal("RealESRGAN_x4plus_tiny", json.RootElement.GetProperty("upscaler").GetString());
        Assert.Equal(160, json.RootElement.GetProperty("width").GetInt32());
        var image = ImageCodec.Load(Path.Combine(work, "big.png"));
        Assert.Equal((160, 96), (image.Width, image.Height));
        Assert.True(image.Pixels.Distinct().Count() > 10, "the image should not be flat");
    }

    [Fact]
    public async Task HubId_X2_DownloadsTheCheckpointIntoTheHubCache()
    {
        const string repo = "test-org/tiny-esrgan";
        fixture.Hub.AddRepo(new FakeHubRepo(repo, [FakeHubFile.FromBytes("RealESRGAN_x2plus_tiny.safetensors", File.ReadAllBytes(TinyEsrgan.Get(2)), isLfs: true)]));
        string work = fixture.NewWorkDir();
        WriteInput(work, 30, 20);
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "in.png", "--model", repo, "--scale", "2", "-o", "x2.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("RealESRGAN_x2plus_tiny", run.Stdout);
        var image = ImageCodec.Load(Path.Combine(work, "x2.png"));
        Assert.Equal((60, 40), (image.Width, image.Height));
    }

    [Fact]
    public async Task Lanczos_WithRefine_RunsImageToImageWithTheTurboModel()
    {
        string work = fixture.NewWorkDir();
        WriteInput(work, 32, 32);
        var plain = await fixture.RunInAsync(fixture.PulledHome, work, "upscale", "in.png", "--scale", "2", "-o", "plain.png", "--threads", "1");
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains("Lanczos", plain.Stdout);
        var refined = await fixture.RunInAsync(fixture.PulledHome, work, "upscale", "in.png", "--scale", "2", "--refine", "a cat", "--refine-model", CliFixture.RepoId,
            "--seed", "5", "-o", "refined.png", "--json", "--threads", "1");
        Assert.True(refined.ExitCode == 0, refined.ToString());
        using var json = JsonDocument.Parse(refined.Stdout);
        Assert.Equal(CliFixture.RepoId, json.RootElement.GetProperty("refine_model").GetString());
        var a = ImageCodec.Load(Path.Combine(work, "plain.png"));
        var b = ImageCodec.Load(Path.Combine(work, "refined.png"));
        Assert.Equal((64, 64), (b.Width, b.Height));
        Assert.NotEqual(a.Pixels, b.Pixels);
    }

    [Fact]
    public async Task BadInput_ExitsNonZero_NamingTheArgument()
    {
        string work = fixture.NewWorkDir();
        File.WriteAllBytes(Path.Combine(work, "huge.png"), HeaderOnlyPng.Create(20000, 20000));
        var huge = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "huge.png");
        Assert.Equal(2, huge.ExitCode);
        Assert.Contains("IMAGE", huge.Stderr);
        Assert.Contains("20000x20000", huge.Stderr);

        WriteInput(work, 16, 16);
        var scale = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "in.png", "--scale", "3");
        Assert.Equal(2, scale.ExitCode);
        Assert.Contains("--scale", scale.Stderr);

        var model = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "in.png", "--model", "./missing.safetensors");
        Assert.Equal(3, model.ExitCode);
        Assert.Contains("missing.safetensors", model.Stderr);

        var notEsrgan = await fixture.RunInAsync(fixture.NewHome(), work, "upscale", "in.png", "--model", Path.Combine(TestPaths.GoldenCase("taesd"), "diffusion_pytorch_model.safetensors"));
        Assert.Equal(3, notEsrgan.ExitCode);
        Assert.Contains("conv_first.weight", notEsrgan.Stderr);
        Assert.Empty(Directory.GetFiles(work, "*.tmp", SearchOption.AllDirectories));
    }
}

using TurboGen.Imaging;

namespace TurboGen.Cli.Tests;

/// <summary><c>turbogen convert</c> (ModelConverter) through the real process.</summary>
[Collection(CliCollection.Name)]
public sealed class ConvertTests(CliFixture fixture)
{
    [Fact]
    public async Task ConvertHubModel_WritesASelfContainedOnnxFolder_ThatGenerates()
    {
        string work = fixture.NewWorkDir();
        var convert = await fixture.RunInAsync(fixture.PulledHome, work, "convert", CliFixture.RepoId, "converted");
        Assert.True(convert.ExitCode == 0, convert.ToString());
        string unet = Path.Combine(work, "converted", "unet", "model.onnx");
        Assert.True(File.Exists(unet));
        Assert.Null(new FileInfo(unet).LinkTarget); // a copy, not a link into the Hub cache

        var generate = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "converted", "--size", "64x64", "--seed", "7", "-o", "c.png", "--threads", "1");
        Assert.True(generate.ExitCode == 0, generate.ToString());
        Assert.Equal(64, ImageCodec.Load(Path.Combine(work, "c.png")).Width);

        var again = await fixture.RunInAsync(fixture.PulledHome, work, "convert", CliFixture.RepoId, "converted");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("not empty", again.Stderr);
    }
}

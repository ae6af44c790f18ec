using TurboGen.Configs;
using TurboGen.Imaging;
using TurboGen.Testing;

namespace TurboGen.Cli.Tests;

/// <summary>
/// An SD 1.x single file (ldm v1 layout, CLIP ViT-L under <c>cond_stage_model.transformer.</c>) through the real process:
/// <c>convert --config</c> builds it with the configs of a diffusers folder and the result generates exactly what that folder does;
/// without <c>--config</c> it is checked against SD 1.5's layout, with CLIP-L's tokenizer (stabilityai/sdxl-turbo's tokenizer/ alone).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class Sd1SingleFileCliTests(CliFixture fixture)
{
    [Fact]
    public async Task Sd1SingleFile_ConvertedWithAConfigFolder_GeneratesWhatTheDiffusersFolderDoes()
    {
        string home = fixture.NewHome(), work = fixture.NewWorkDir();
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(work, "sd1-diffusers"), SingleFileTestCheckpoints.Sd1UnetCase, KnownConfigs.Sd15.SchedulerConfigJson);
        SingleFileTestCheckpoints.WriteSd1(Path.Combine(work, "sd1.safetensors"));
        fixture.Hub.ResetRequests();
        var env = fixture.Environment(home, ("HF_HUB_OFFLINE", "1"));
        var convert = await CliProcess.RunAsync(env, work, "convert", "sd1.safetensors", "converted", "--config", "sd1-diffusers");
        Assert.True(convert.ExitCode == 0, convert.ToString());
        Assert.Empty(fixture.Hub.Requests);   // configs and tokenizer came from the folder

        string[] common = ["generate", "a photo of a cat", "--negative", "blurry", "--size", "64x64", "--seed", "4", "--steps", "2", "--guidance", "3", "--threads", "1"];
        var fromFile = await CliProcess.RunAsync(env, work, [.. common, "-m", "converted", "-o", "file.png"]);
        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        var fromFolder = await CliProcess.RunAsync(env, work, [.. common, "-m", folder, "-o", "folder.png"]);
        Assert.True(fromFolder.ExitCode == 0, fromFolder.ToString());
        var a = ImageCodec.Load(Path.Combine(work, "file.png"));
        Assert.Equal((64, 64), (a.Width, a.Height));
        Assert.Equal(ImageCodec.Load(Path.Combine(work, "folder.png")).Pixels, a.Pixels);
    }

    [Fact]
    public async Task Sd1SingleFile_WithoutConfigs_IsCheckedAgainstSd15_WithClipLsTokenizerFromTheHub()
    {
        string work = fixture.NewWorkDir(), home = fixture.NewHome();
        SingleFileTestCheckpoints.WriteSd1(Path.Combine(work, "sd1.safetensors"));
        fixture.Hub.ResetRequests();
        var run = await fixture.RunInAsync(home, work, "convert", "sd1.safetensors", "out");
        // The tiny file has SD 1.x's key names but not SD 1.5's sizes: found the tokenizer, then failed the SD 1.x layout check.
        Assert.True(run.ExitCode == 3 && run.Stderr.Contains("does not match the SD 1.x single-file layout", StringComparison.Ordinal), run.ToString());
        Assert.Contains("cond_stage_model.transformer.text_model.encoder.layers.11.", run.Stderr);
        var fetched = fixture.Hub.Requests.Where(r => r.Method == "HEAD").Select(r => Uri.UnescapeDataString(r.PathAndQuery)).ToList();
        Assert.NotEmpty(fetched);
        Assert.All(fetched, path => Assert.Matches("stabilityai/sdxl-turbo/.*/tokenizer/", path));   // CLIP-L's tokenizer/ only, no tokenizer_2/

        var badConfig = await fixture.RunInAsync(home, work, "convert", "sd1.safetensors", "out", "--config", "nowhere");
        Assert.NotEqual(0, badConfig.ExitCode);
        Assert.Contains("nowhere", badConfig.Stderr);
    }
}

using TurboGen.Imaging;
using TurboGen.Testing;
using TurboGen.Text;

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

    // ---- issue 14 item 11: a single-file checkpoint's tokenizers ------------------------------------------------------
    // The tiny single file has the real key names but not the published model's shapes, and a local single file is checked
    // against the published configs: so a run that found its tokenizers goes on to fail at the key/shape check (exit 3, naming
    // the file), while one that did not fails before it ("carries no tokenizer", or exit 4 offline). That tells them apart.

    private const string LayoutMismatch = "does not match the SDXL single-file layout";

    [Fact]
    public async Task ConvertSingleFile_TakesTheTokenizersLikeGenerate_FromTheHubThenTheCacheOffline()
    {
        string work = fixture.NewWorkDir(), home = fixture.NewHome();
        SingleFileTestCheckpoints.WriteSdxl(Path.Combine(work, "model.safetensors"));
        fixture.Hub.ResetRequests();
        var online = await fixture.RunInAsync(home, work, "convert", "model.safetensors", "out1");
        Assert.True(online.ExitCode == 3 && online.Stderr.Contains(LayoutMismatch, StringComparison.Ordinal), online.ToString());
        Assert.DoesNotContain("tokenizer", online.Stderr.Split('\n').Single(l => l.StartsWith("turbogen: error:", StringComparison.Ordinal)));
        var fetched = fixture.Hub.Requests.Where(r => r.Method == "HEAD").Select(r => Uri.UnescapeDataString(r.PathAndQuery)).ToList();
        Assert.NotEmpty(fetched);
        Assert.All(fetched, path => Assert.Matches("/tokenizer(_2)?/", path));   // the standard tokenizers, nothing else

        // Now they are in the Hub cache: offline finds them there, with no request to the Hub.
        fixture.Hub.ResetRequests();
        var offline = await CliProcess.RunAsync(fixture.Environment(home, ("HF_HUB_OFFLINE", "1")), work, "convert", "model.safetensors", "out2");
        Assert.True(offline.ExitCode == 3 && offline.Stderr.Contains(LayoutMismatch, StringComparison.Ordinal), offline.ToString());
        Assert.Empty(fixture.Hub.Requests);

        // Offline in an empty cache there are none: the Hub error, exit 4.
        var none = await CliProcess.RunAsync(fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1")), work, "convert", "model.safetensors", "out3");
        Assert.True(none.ExitCode == 4, none.ToString());
        Assert.False(Directory.Exists(Path.Combine(work, "out1")));
    }

    [Fact]
    public async Task ConvertSingleFile_WithTokenizerFolder_NeedsNoHub()
    {
        string work = fixture.NewWorkDir(), tokenizers = Path.Combine(work, "tok");
        SingleFileTestCheckpoints.WriteSdxl(Path.Combine(work, "model.safetensors"));
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(tokenizers, "tokenizer"), "<|endoftext|>");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(tokenizers, "tokenizer_2"), "!");
        fixture.Hub.ResetRequests();
        var env = fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1"));   // an empty cache, offline
        var convert = await CliProcess.RunAsync(env, work, "convert", "model.safetensors", "converted", "--tokenizer", "tok");
        Assert.True(convert.ExitCode == 3 && convert.Stderr.Contains(LayoutMismatch, StringComparison.Ordinal), convert.ToString());
        Assert.Contains("model.safetensors", convert.Stderr);
        Assert.Empty(fixture.Hub.Requests);
    }

    [Fact]
    public async Task ConvertTokenizerFolder_MissingOrOneForSdxl_Exits2NamingTheOption()
    {
        string work = fixture.NewWorkDir();
        SingleFileTestCheckpoints.WriteSdxl(Path.Combine(work, "model.safetensors"));
        var missing = await fixture.RunInAsync(fixture.NewHome(), work, "convert", "model.safetensors", "out", "--tokenizer", "nowhere");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--tokenizer", missing.Stderr);
        Assert.Contains("nowhere", missing.Stderr);

        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(work, "one"), "<|endoftext|>");
        var single = await fixture.RunInAsync(fixture.NewHome(), work, "convert", "model.safetensors", "out", "--tokenizer", "one");
        Assert.Equal(2, single.ExitCode);
        Assert.Contains("--tokenizer", single.Stderr);
        Assert.Contains("tokenizer_2", single.Stderr);
        Assert.False(Directory.Exists(Path.Combine(work, "out")));
    }
}

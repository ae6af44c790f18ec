using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Cli.Tests;

/// <summary><c>turbogen generate</c> end to end on the tiny model downloaded from the fake Hub.</summary>
[Collection(CliCollection.Name)]
public sealed class GenerateTests(CliFixture fixture)
{
    [Fact]
    public async Task PullThenGenerate_WritesPngWithParametersAndReportsSeedAndTimings()
    {
        string home = fixture.NewHome();
        var pull = await fixture.RunAsync(home, "pull", CliFixture.RepoId);
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Contains("snapshots", pull.Stdout);

        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(home, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "-o", "out.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        string png = Path.Combine(work, "out.png");
        Assert.Contains(png, run.Stdout);
        Assert.Contains("seed 7", run.Stdout);
        Assert.Contains("unet.step0", run.Stdout);      // the timings table
        Assert.Contains("decode.vae", run.Stdout);

        byte[] bytes = File.ReadAllBytes(png);
        var image = ImageCodec.Decode(bytes);
        Assert.Equal((64, 64), (image.Width, image.Height));
        Assert.True(image.Pixels.Distinct().Count() > 10, "the image should not be flat");
        var text = PngText.ReadTextChunks(bytes);
        Assert.StartsWith("a cat\n", text[PngText.ParametersKey]);
        Assert.Contains("Seed: 7", text[PngText.ParametersKey]);
        var record = GenerationMetadata.ParseJson(text[PngText.TurboGenKey])!;
        Assert.Equal(("a cat", 7L, 64, 64, 1, CliFixture.RepoId), (record.Prompt, record.Seed, record.Width, record.Height, record.Steps, record.Model));
        Assert.Empty(Directory.GetFiles(work, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Json_IsOneObjectOnStdout_AndSameSeedGivesIdenticalBytes()
    {
        string work = fixture.NewWorkDir();
        var first = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a red fox", "--size", "64x64", "--seed", "123", "-o", "a.png", "--json", "--threads", "1");
        var second = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a red fox", "--size", "64x64", "--seed", "123", "-o", "b.png", "--json", "--threads", "1");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());

        using var json = JsonDocument.Parse(first.Stdout);   // throws unless stdout is exactly one JSON value
        var root = json.RootElement;
        Assert.Equal(Path.Combine(work, "a.png"), root.GetProperty("paths")[0].GetString());
        Assert.Equal(123, root.GetProperty("seeds")[0].GetInt64());
        Assert.False(root.GetProperty("truncated").GetBoolean());
        Assert.Equal(CliFixture.RepoId, root.GetProperty("model").GetString());
        var stages = root.GetProperty("timings").GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()).ToList();
        Assert.Contains("unet.step0", stages);
        Assert.Contains("encode.text_encoder_2", stages);
        Assert.True(root.GetProperty("timings").GetProperty("load_ms").GetDouble() > 0);

        Assert.Equal(File.ReadAllBytes(Path.Combine(work, "a.png")), File.ReadAllBytes(Path.Combine(work, "b.png")));
    }

    [Fact]
    public async Task Style_RewritesThePrompt_AndTheMetadataSaysSo()
    {
        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a lighthouse", "--style", "pixel-art", "--size", "64x64", "--seed", "3", "-o", "s.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "s.png")))[PngText.TurboGenKey])!;
        Assert.StartsWith("pixel art of a lighthouse", record.Prompt);
        // Without --guidance the style's negative prompt plays no part, and the metadata records what was used (issue 15.3).
        Assert.Equal(("", 1f), (record.NegativePrompt, record.GuidanceScale));
    }

    [Fact]
    public async Task Style_GivesTheSamePromptAsTheServersFrontEnds()
    {
        // The same expected prompt as tests/TurboGen.Server.Tests/FrontEndAgreementTests (WebSocket, OpenAI, A1111, native):
        // "neon-punk" from styles.json by A1111's rule, the style's negative after the user's.
        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a tram", "--style", "neon-punk", "--negative", "dogs", "--guidance", "2", "--size", "64x64", "--seed", "3", "-o", "s.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "s.png")))[PngText.TurboGenKey])!;
        Assert.Equal("neon punk style a tram, cyberpunk city glow, vivid magenta and cyan neon lights, high contrast, futuristic", record.Prompt);
        Assert.Equal("dogs, daylight, muted colors, dull, pastoral, painting, blurry, low contrast", record.NegativePrompt);
    }

    [Fact]
    public async Task Count_WritesOneFilePerSeed()
    {
        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a lighthouse", "--size", "64x64", "--seed", "40", "--count", "2", "-o", "out.png", "--json", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        Assert.Equal([40L, 41L], json.RootElement.GetProperty("seeds").EnumerateArray().Select(s => s.GetInt64()));

        string[] files = [Path.Combine(work, "out-0.png"), Path.Combine(work, "out-1.png")];
        Assert.Equal(files, json.RootElement.GetProperty("paths").EnumerateArray().Select(p => p.GetString()));
        Assert.False(File.Exists(Path.Combine(work, "out.png")));
        var seeds = files.Select(f => GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(f))[PngText.TurboGenKey])!.Seed);
        Assert.Equal([40L, 41L], seeds);
        Assert.NotEqual(ImageCodec.Load(files[0]).Pixels, ImageCodec.Load(files[1]).Pixels);
    }

    [Fact]
    public async Task ImageToImage_UsesTheInitImageAndRecordsStrength()
    {
        string work = fixture.NewWorkDir();
        var pixels = new byte[64 * 64 * 3];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            int x = i / 3 % 64, y = i / 3 / 64;
            (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)(x * 4), (byte)(y * 4), 128);
        }
        ImageCodec.SavePng(new RgbImage(64, 64, pixels), Path.Combine(work, "in.png"));

        var img2img = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "--image", "in.png", "--strength", "0.5", "-o", "i2i.png", "--threads", "1");
        var txt2img = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "-o", "t2i.png", "--threads", "1");
        Assert.True(img2img.ExitCode == 0, img2img.ToString());
        Assert.True(txt2img.ExitCode == 0, txt2img.ToString());

        byte[] bytes = File.ReadAllBytes(Path.Combine(work, "i2i.png"));
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(bytes)[PngText.TurboGenKey])!;
        Assert.Equal(0.5f, record.Strength);
        Assert.Contains("vae_encode", img2img.Stdout);
        var result = ImageCodec.Decode(bytes);
        Assert.Equal((64, 64), (result.Width, result.Height));
        // The tiny VAE round-trips the init image to 8×8 blocks; half strength keeps it recognisable: closer to the init than text-to-image is.
        Assert.True(MeanAbsDiff(result.Pixels, pixels) < MeanAbsDiff(ImageCodec.Load(Path.Combine(work, "t2i.png")).Pixels, pixels),
            "image-to-image output should resemble the init image more than text-to-image does");
    }

    [Fact]
    public async Task TinyVae_DecodesWithTheGivenFolder()
    {
        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--size", "64x64", "--seed", "7", "--tiny-vae", Path.Combine(fixture.ModelFolder, "taesd"), "-o", "tiny.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("decode.tiny_vae", run.Stdout);
        Assert.Contains("VAE: TAESD", PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "tiny.png")))[PngText.ParametersKey]);
    }

    [Fact]
    public async Task LocalFolder_WorksWithoutTheHub_AndOutdirNamesFilesBySeed()
    {
        string work = fixture.NewWorkDir();
        var env = fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1"));
        var run = await CliProcess.RunAsync(env, work, "generate", "a cat", "-m", fixture.ModelFolder, "--size", "64x64", "--seed", "9", "--outdir", "imgs", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        string file = Assert.Single(Directory.GetFiles(Path.Combine(work, "imgs")));
        Assert.EndsWith("-9.png", file);
        Assert.Equal(new DirectoryInfo(fixture.ModelFolder).Name, GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(file))[PngText.TurboGenKey])!.Model);
    }

    private static double MeanAbsDiff(byte[] a, byte[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
}

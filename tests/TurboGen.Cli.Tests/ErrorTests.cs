namespace TurboGen.Cli.Tests;

/// <summary>Every expected error: one line on stderr naming the problem, nothing on stdout, the documented exit code, no stack trace.</summary>
[Collection(CliCollection.Name)]
public sealed class ErrorTests(CliFixture fixture)
{
    [Theory]
    [InlineData("--size", "100x100")]   // not a multiple of 8
    [InlineData("--size", "big")]
    [InlineData("--size", "4096x64")]
    public async Task BadSize_Exits2NamingSize_BeforeTouchingTheHub(string option, string value)
    {
        fixture.Hub.ResetRequests();
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--size", run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.Single(run.Stderr.Trim().Split('\n'));
        Assert.Empty(fixture.Hub.Requests);
    }

    [Theory]
    [InlineData("--steps", "0", "--steps")]
    [InlineData("--count", "17", "--count")]
    [InlineData("--strength", "0.5", "--strength")]   // without --image
    [InlineData("--guidance", "-1", "--guidance")]
    [InlineData("--provider", "npu", "npu")]           // parse error: not one of the providers
    [InlineData("--steps", "many", "many")]            // parse error: not a number
    [InlineData("--bogus", "1", "--bogus")]            // unknown option
    public async Task BadOption_Exits2(string option, string value, string named)
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(named, run.Stderr);
        Assert.Empty(run.Stdout);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task UnknownLocalPath_Exits3()
    {
        string missing = Path.Combine(fixture.NewWorkDir(), "no-such-model");
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "-m", missing, "--size", "64x64");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains(missing, run.Stderr);
        Assert.Single(run.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task SafetensorsCheckpoint_Exits3WithAClearMessage()
    {
        string work = fixture.NewWorkDir();
        File.WriteAllBytes(Path.Combine(work, "model.safetensors"), new byte[16]);
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "model.safetensors", "--size", "64x64");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("safetensors", run.Stderr);
    }

    [Fact]
    public async Task UnknownStyle_Exits2NamingStyle()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "--style", "cubist-nonsense", "--size", "64x64");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--style", run.Stderr);
        Assert.Contains("photographic", run.Stderr);
    }

    [Fact]
    public async Task Lora_OnAnOnnxModel_Exits3()
    {
        var run = await fixture.RunAsync(fixture.PulledHome, "generate", "a cat", "--lora", "style.safetensors:0.7", "--size", "64x64", "--threads", "1");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("ONNX export", run.Stderr);
    }

    [Fact]
    public async Task FolderThatIsNoModel_Exits3()
    {
        string work = fixture.NewWorkDir();
        Directory.CreateDirectory(Path.Combine(work, "notes"));
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "./notes", "--size", "64x64");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("neither an ONNX model folder", run.Stderr);
    }

    [Fact]
    public async Task UnreadableInitImage_Exits2NamingImage()
    {
        string work = fixture.NewWorkDir();
        File.WriteAllText(Path.Combine(work, "in.png"), "not a png");
        var run = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "--image", "in.png", "--size", "64x64");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--image", run.Stderr);
    }

    [Fact]
    public async Task Verbose_ShowsTheStackTrace()
    {
        string missing = Path.Combine(fixture.NewWorkDir(), "no-such-model");
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "-m", missing, "--verbose");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("ModelLoadException", run.Stderr);
        Assert.Contains("   at ", run.Stderr);
    }

    [Fact]
    public async Task Help_ListsTheCommands()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "--help");
        Assert.Equal(0, run.ExitCode);
        foreach (string command in new[] { "generate", "pull", "models", "serve", "convert", "bench", "doctor" })
        {
            Assert.Contains(command, run.Stdout);
        }
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task Serve_OffLoopbackWithoutKey_IsRefused_WithoutSayingItServes(string host)
    {
        fixture.Hub.ResetRequests();
        var run = await fixture.RunAsync(fixture.NewHome(), "serve", "--host", host, "--port", "0");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--api-key", run.Stderr);
        Assert.DoesNotContain("serving", run.Stderr);
        Assert.DoesNotContain("http://", run.Stderr);
        Assert.Empty(fixture.Hub.Requests); // refused before the model is even looked up
    }
}

using System.CommandLine;
using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Cli.Tests;

/// <summary><c>--scheduler</c>: replaces the model's own scheduler (LoRA-made few-step models), on generate and serve.</summary>
[Collection(CliCollection.Name)]
public sealed class SchedulerOptionTests(CliFixture fixture)
{
    [Fact]
    public async Task Generate_WithSchedulerLcm_RunsLcmAndRecordsItsSampler()
    {
        string work = fixture.NewWorkDir();
        var own = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "-m", fixture.ModelFolder, "--size", "64x64", "--seed", "3", "--steps", "2", "-o", "own.png", "--threads", "1");
        var lcm = await fixture.RunInAsync(fixture.PulledHome, work, "generate", "a cat", "-m", fixture.ModelFolder, "--scheduler", "lcm", "--size", "64x64", "--seed", "3", "--steps", "2", "-o", "lcm.png", "--threads", "1");
        Assert.True(own.ExitCode == 0, own.ToString());
        Assert.True(lcm.ExitCode == 0, lcm.ToString());

        byte[] ownBytes = File.ReadAllBytes(Path.Combine(work, "own.png"));
        byte[] lcmBytes = File.ReadAllBytes(Path.Combine(work, "lcm.png"));
        Assert.Contains("Sampler: Euler a", PngText.ReadTextChunks(ownBytes)[PngText.ParametersKey]);
        Assert.Contains("Sampler: LCM", PngText.ReadTextChunks(lcmBytes)[PngText.ParametersKey]);
        Assert.NotEqual(ImageCodec.Decode(ownBytes).Pixels, ImageCodec.Decode(lcmBytes).Pixels);
    }

    [Fact]
    public async Task UnknownScheduler_Exits2ListingTheKnownNames()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "--scheduler", "dpm++", "--size", "64x64");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--scheduler", run.Stderr);
        Assert.Contains("euler-sample", run.Stderr);
    }

    [Theory]
    [InlineData("generate")]
    [InlineData("serve")]
    public async Task Help_ListsTheOption(string command)
    {
        var run = await fixture.RunAsync(fixture.NewHome(), command, "--help");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("--scheduler", run.Stdout);
    }

    [Fact]
    public void TheOptionIsParsedIntoTheRuntimeOptions()
    {
        var shared = new SharedOptions();
        var command = new Command("generate");
        shared.AddTo(command);

        Assert.Equal("tcd", shared.Runtime(command.Parse("--scheduler tcd"), prepackByDefault: false).Scheduler);
        Assert.Null(shared.Runtime(command.Parse(""), prepackByDefault: false).Scheduler);
        Assert.Empty(command.Parse("--scheduler LCMScheduler").Errors);
        Assert.NotEmpty(command.Parse("--scheduler ddim").Errors);
    }
}

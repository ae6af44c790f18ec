using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>
/// End to end on a tiny SD model: the model's own scheduler_config.json picks LCM / TCD / Lightning-style Euler, and
/// <see cref="RuntimeOptions.Scheduler"/> (the CLI's --scheduler) replaces it.
/// </summary>
public sealed class ModelSchedulerTests
{
    private static string TinyModelWithScheduler(string schedulerJson)
    {
        string src = TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        string dst = TestPaths.NewTempDir("turbogen-sched");
        foreach (var file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dst, Path.GetRelativePath(src, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        File.WriteAllText(Path.Combine(dst, "scheduler", "scheduler_config.json"), schedulerJson);
        return dst;
    }

    private static TurboModel Load(string dir, string? scheduler = null) =>
        TurboModel.Load(dir, new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1, Scheduler = scheduler } });

    private static GenerationRequest Request(int steps) => new() { Prompt = "a lighthouse", Seed = 5, Width = 64, Height = 64, Steps = steps };

    [Theory]
    [InlineData("LCMScheduler", typeof(LcmScheduler), "LCM")]
    [InlineData("TCDScheduler", typeof(TcdScheduler), "TCD")]
    public void TheModelsOwnConfigPicksTheConsistencyScheduler(string className, Type expected, string sampler)
    {
        using var model = Load(TinyModelWithScheduler(TinyModels.SchedulerJson(className)));
        var pipeline = new TurboPipeline(model);

        Assert.IsType(expected, pipeline.Scheduler);
        var a = pipeline.Generate(Request(4));
        var b = pipeline.Generate(Request(4));

        Assert.Equal(sampler, a.Sampler);
        Assert.Equal(a.Latents.Data, b.Latents.Data);
        Assert.All(a.Latents.Data, v => Assert.True(float.IsFinite(v)));
        Assert.Single(a.Images);

        // image-to-image at 1 step, strength 0.5: the LCM pipelines' rule gives timestep 499
        var init = new RgbImage(64, 64, Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 13)).ToArray());
        var i2i = pipeline.Generate(Request(1) with { InitImage = init, Strength = 0.5f });
        Assert.All(i2i.Latents.Data, v => Assert.True(float.IsFinite(v)));
        Assert.Equal([499f], pipeline.Scheduler.SetTimestepsForStrength(1, 0.5f).Timesteps);
    }

    [Fact]
    public void LightningStyleSamplePredictionConfigRunsOneStep()
    {
        string json = TinyModels.SchedulerJson("EulerDiscreteScheduler").Replace("\"epsilon\"", "\"sample\"", StringComparison.Ordinal);
        using var model = Load(TinyModelWithScheduler(json));
        var pipeline = new TurboPipeline(model);

        Assert.Equal("sample", model.SchedulerConfig.PredictionType);
        var result = pipeline.Generate(Request(1));
        Assert.Equal("Euler", result.Sampler);
        Assert.All(result.Latents.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RuntimeOverrideReplacesTheModelsScheduler()
    {
        string dir = TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        using var own = Load(dir);
        using var lcm = Load(dir, "lcm");

        var euler = new TurboPipeline(own);
        var overridden = new TurboPipeline(lcm);

        Assert.IsType<EulerDiscreteScheduler>(euler.Scheduler);
        Assert.IsType<LcmScheduler>(overridden.Scheduler);
        Assert.Equal(LcmScheduler.ClassName, lcm.SchedulerConfig.ClassName);
        Assert.Equal(own.SchedulerConfig.BetaStart, lcm.SchedulerConfig.BetaStart);
        var a = euler.Generate(Request(2));
        var b = overridden.Generate(Request(2));
        Assert.Equal("LCM", b.Sampler);
        Assert.NotEqual(a.Latents.Data, b.Latents.Data);
    }

    [Fact]
    public void UnsupportedSchedulerClassFailsTheLoadNamingTheFile()
    {
        string dir = TinyModelWithScheduler(TinyModels.SchedulerJson("DPMSolverMultistepScheduler"));
        var ex = Assert.Throws<ModelLoadException>(() => Load(dir));
        Assert.Contains(Path.Combine("scheduler", "scheduler_config.json"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("LCMScheduler", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--scheduler", ex.Message, StringComparison.Ordinal);
        using var overridden = Load(dir, "lcm");
        Assert.IsType<LcmScheduler>(new TurboPipeline(overridden).Scheduler);
    }

    /// <summary>A scheduler made straight from a config file names that file when it refuses a combination (fuzz seed fLQBxwBkFl61).</summary>
    [Theory]
    [InlineData("EulerAncestralDiscreteScheduler", "prediction_type", "\"not a number\"")]
    [InlineData("EulerDiscreteScheduler", "interpolation_type", "\"log_linear\"")]
    [InlineData("LCMScheduler", "clip_sample", "true")]
    [InlineData("NoSuchScheduler", "steps_offset", "1")]
    public void UnsupportedCombination_CreatedFromAFile_NamesTheFile(string className, string field, string value)
    {
        string path = Path.Combine("some", "model", "scheduler", "scheduler_config.json");
        var config = SchedulerConfig.FromJson($$"""{"_class_name": "{{className}}", "{{field}}": {{value}}}""", path);
        var ex = Assert.Throws<ModelLoadException>(() => Schedulers.Create(config));
        Assert.Equal(path, ex.Path);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(field == "steps_offset" ? className : field, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownOverrideFailsTheLoadNamingTheOption()
    {
        string dir = TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        var ex = Assert.Throws<InvalidRequestException>(() => Load(dir, "ddim"));
        Assert.Equal("scheduler", ex.Parameter);
    }
}

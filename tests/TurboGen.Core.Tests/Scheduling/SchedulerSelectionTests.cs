using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>Which scheduler a model's scheduler_config.json picks, and the --scheduler override for LoRA-made few-step models.</summary>
public class SchedulerSelectionTests
{
    /// <summary>An LCM-distilled model's config in the style of SimianLuo/LCM_Dreamshaper_v7 (all keys an LCMScheduler saves).</summary>
    private const string LcmModelConfig = """
        {
          "_class_name": "LCMScheduler",
          "_diffusers_version": "0.22.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "clip_sample_range": 1.0,
          "dynamic_thresholding_ratio": 0.995,
          "num_train_timesteps": 1000,
          "original_inference_steps": 50,
          "prediction_type": "epsilon",
          "rescale_betas_zero_snr": false,
          "sample_max_value": 1.0,
          "set_alpha_to_one": true,
          "steps_offset": 1,
          "thresholding": false,
          "timestep_scaling": 10.0,
          "timestep_spacing": "leading",
          "trained_betas": null
        }
        """;

    /// <summary>An SD 1.5 base model's config (PNDMScheduler, "leading"): what a LoRA-made few-step model ships.</summary>
    private const string Sd15BaseConfig = """
        {
          "_class_name": "PNDMScheduler",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "num_train_timesteps": 1000,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "trained_betas": null
        }
        """;

    [Fact]
    public void TheModelsClassNamePicksTheScheduler()
    {
        Assert.IsType<LcmScheduler>(Schedulers.Create(SchedulerConfig.FromJson(LcmModelConfig)));
        Assert.IsType<TcdScheduler>(Schedulers.Create(SchedulerConfig.FromJson("""{"_class_name": "TCDScheduler"}""")));
        string lightning = """{"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "timestep_spacing": "trailing", "prediction_type": "sample"}""";
        IScheduler euler = Schedulers.Create(SchedulerConfig.FromJson(lightning));
        Assert.IsType<EulerDiscreteScheduler>(euler);
        Assert.Equal("Euler", euler.SamplerName);
        Assert.Equal("LCM", Schedulers.Create(SchedulerConfig.FromJson(LcmModelConfig)).SamplerName);
    }

    [Fact]
    public void LcmConfigFieldsAreRead()
    {
        SchedulerConfig config = SchedulerConfig.FromJson("""{"_class_name": "LCMScheduler", "original_inference_steps": 25, "timestep_scaling": 5.0}""");
        Assert.Equal(25, config.OriginalInferenceSteps);
        Assert.Equal(5.0, config.TimestepScaling);
        // 25 origin timesteps 39, 79, ..., 999 (k = 40): 2 steps → 999, 519.
        Assert.Equal([999f, 519f], Schedulers.Create(config).SetTimesteps(2).Timesteps);
    }

    [Fact]
    public void MissingKeysTakeTheNamedClassesDefaults()
    {
        SchedulerConfig lcm = SchedulerConfig.FromJson("""{"_class_name": "LCMScheduler"}""");
        Assert.Equal("scaled_linear", lcm.BetaSchedule);
        Assert.Equal(0.00085, lcm.BetaStart);
        Assert.Equal(0.012, lcm.BetaEnd);
        Assert.Equal("leading", lcm.TimestepSpacing);
        SchedulerConfig euler = SchedulerConfig.FromJson("""{"_class_name": "EulerDiscreteScheduler"}""");
        Assert.Equal("linear", euler.BetaSchedule);
        Assert.Equal(0.0001, euler.BetaStart);
    }

    [Theory]
    [InlineData("lcm", typeof(LcmScheduler))]
    [InlineData("LCMScheduler", typeof(LcmScheduler))]
    [InlineData(" TCD ", typeof(TcdScheduler))]
    [InlineData("tcdscheduler", typeof(TcdScheduler))]
    [InlineData("euler", typeof(EulerDiscreteScheduler))]
    [InlineData("euler-sample", typeof(EulerDiscreteScheduler))]
    [InlineData("euler-a", typeof(EulerAncestralDiscreteScheduler))]
    [InlineData("EulerAncestralDiscreteScheduler", typeof(EulerAncestralDiscreteScheduler))]
    public void OverrideReplacesTheBaseModelsScheduler(string name, Type expected)
    {
        SchedulerConfig config = Schedulers.ApplyOverride(Sd15BaseConfig, name);
        IScheduler scheduler = Schedulers.Create(config);

        Assert.IsType(expected, scheduler);
        // The base model's betas are kept (diffusers' from_config).
        Assert.Equal("scaled_linear", config.BetaSchedule);
        Assert.Equal(0.00085, config.BetaStart);
        Assert.Equal(1, config.StepsOffset);
    }

    [Fact]
    public void EulerOverridesUseTrailingSpacingAndEulerSampleTheSamplePrediction()
    {
        SchedulerConfig euler = Schedulers.ApplyOverride(Sd15BaseConfig, "euler");
        Assert.Equal("trailing", euler.TimestepSpacing);
        Assert.Equal("epsilon", euler.PredictionType);
        Assert.Equal([999f, 749f, 499f, 249f], Schedulers.Create(euler).SetTimesteps(4).Timesteps);
        SchedulerConfig sample = Schedulers.ApplyOverride(Sd15BaseConfig, "euler-sample");
        Assert.Equal("trailing", sample.TimestepSpacing);
        Assert.Equal("sample", sample.PredictionType);
        // LCM keeps the file's spacing (its schedule does not use it) and gets its own defaults.
        SchedulerConfig lcm = Schedulers.ApplyOverride(Sd15BaseConfig, "lcm");
        Assert.Equal(LcmScheduler.ClassName, lcm.ClassName);
        Assert.Equal(50, lcm.OriginalInferenceSteps);
        Assert.Equal(10.0, lcm.TimestepScaling);
        Assert.Equal([999f, 759f, 499f, 259f], Schedulers.Create(lcm).SetTimesteps(4).Timesteps);
    }

    [Fact]
    public void UnknownOverrideNameIsARequestErrorListingTheKnownOnes()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => Schedulers.ApplyOverride(Sd15BaseConfig, "dpm++"));
        Assert.Equal("scheduler", ex.Parameter);
        foreach (string name in Schedulers.OverrideNames) Assert.Contains(name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadConfigAppliesTheOverrideToTheFile()
    {
        string dir = Directory.CreateTempSubdirectory("turbogen-sched-").FullName;
        try
        {
            string path = Path.Combine(dir, "scheduler_config.json");
            File.WriteAllText(path, Sd15BaseConfig);
            Assert.Equal("PNDMScheduler", Schedulers.ReadConfig(path, null).ClassName);
            Assert.Equal("PNDMScheduler", Schedulers.ReadConfig(path, " ").ClassName);
            Assert.Equal(TcdScheduler.ClassName, Schedulers.ReadConfig(path, "tcd").ClassName);
            Assert.Throws<ModelLoadException>(() => Schedulers.ReadConfig(Path.Combine(dir, "missing.json"), "lcm"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

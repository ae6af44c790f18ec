using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

public class SchedulerConfigTests
{
    /// <summary>stabilityai/sd-turbo scheduler/scheduler_config.json as quoted by MODEL-CONTRACT §4.1.</summary>
    private const string SdTurboPublishedConfig = """
        {
          "_class_name": "EulerDiscreteScheduler",
          "_diffusers_version": "0.24.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "sigma_max": null,
          "sigma_min": null,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "trailing",
          "timestep_type": "discrete",
          "trained_betas": null,
          "use_karras_sigmas": false
        }
        """;

    [Theory]
    [InlineData("sdxl_turbo")]
    [InlineData("sd_turbo")]
    public void GoldenTurboConfigsParse(string model)
    {
        SchedulerConfig config = SchedulerConfig.FromJson(SchedulerGolden.ConfigJson(model));

        Assert.Equal("EulerAncestralDiscreteScheduler", config.ClassName);
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.00085, config.BetaStart);
        Assert.Equal(0.012, config.BetaEnd);
        Assert.Equal("scaled_linear", config.BetaSchedule);
        Assert.Null(config.TrainedBetas);
        Assert.Equal("epsilon", config.PredictionType);
        Assert.Equal("trailing", config.TimestepSpacing);
        Assert.Equal(1, config.StepsOffset);
        IScheduler scheduler = Schedulers.Create(config);
        Assert.True(scheduler.IsAncestral);
        Assert.Equal("EulerAncestralDiscreteScheduler", scheduler.Name);
    }

    [Fact]
    public void PublishedSdTurboConfigGivesTheNonAncestralEulerScheduler()
    {
        SchedulerConfig config = SchedulerConfig.FromJson(SdTurboPublishedConfig);

        Assert.Equal("EulerDiscreteScheduler", config.ClassName);
        Assert.Equal("discrete", config.TimestepType);
        Assert.False(config.UseKarrasSigmas);
        Assert.Equal("zero", config.FinalSigmasType);
        IScheduler scheduler = Schedulers.Create(config);
        Assert.IsType<EulerDiscreteScheduler>(scheduler);
        Assert.False(scheduler.IsAncestral);
        Assert.Equal([999f, 499f], scheduler.SetTimesteps(2).Timesteps);
    }

    [Fact]
    public void MissingKeysTakeDiffusersDefaults()
    {
        SchedulerConfig config = SchedulerConfig.FromJson("""{"_class_name": "EulerDiscreteScheduler", "some_future_key": [1, {"x": 2}]}""");
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.0001, config.BetaStart);
        Assert.Equal(0.02, config.BetaEnd);
        Assert.Equal("linear", config.BetaSchedule);
        Assert.Equal("linspace", config.TimestepSpacing);
        Assert.Equal(0, config.StepsOffset);
    }

    [Fact]
    public void TrainedBetasAndIntegralFloatsAreRead()
    {
        SchedulerConfig config = SchedulerConfig.FromJson("""{"num_train_timesteps": 3.0, "trained_betas": [0.1, 0.2, 0.3], "prediction_type": "v_prediction"}""");
        Assert.Equal(3, config.NumTrainTimesteps);
        Assert.Equal([0.1, 0.2, 0.3], config.TrainedBetas);
        Assert.Equal("v_prediction", config.PredictionType);
    }

    [Theory]
    [InlineData("""{"num_train_timesteps": "1000"}""", "num_train_timesteps")]
    [InlineData("""{"num_train_timesteps": 999.5}""", "num_train_timesteps")]
    [InlineData("""{"num_train_timesteps": 0}""", "num_train_timesteps")]
    [InlineData("""{"beta_start": "small"}""", "beta_start")]
    [InlineData("""{"beta_end": 1.5}""", "beta_end")]
    [InlineData("""{"timestep_spacing": 3}""", "timestep_spacing")]
    [InlineData("""{"use_karras_sigmas": "no"}""", "use_karras_sigmas")]
    [InlineData("""{"trained_betas": [0.1, "x"]}""", "trained_betas")]
    [InlineData("""{"trained_betas": [0.1, 1.2]}""", "trained_betas")]
    [InlineData("""[1, 2]""", "JSON object")]
    [InlineData("""{"beta_start": 0.1""", "not valid JSON")]
    public void InvalidConfigsNameTheProblem(string json, string expected)
    {
        var ex = Assert.Throws<ModelLoadException>(() => SchedulerConfig.FromJson(json, "model/scheduler/scheduler_config.json"));
        Assert.Equal("model/scheduler/scheduler_config.json", ex.Path);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void FromFileReadsAFileAndNamesItInErrors()
    {
        string dir = TestPaths.NewTempDir();
        try
        {
            string path = Path.Combine(dir, "scheduler_config.json");
            File.WriteAllText(path, SdTurboPublishedConfig);
            Assert.Equal("EulerDiscreteScheduler", SchedulerConfig.FromFile(path).ClassName);

            File.WriteAllText(path, "{ not json");
            var invalid = Assert.Throws<ModelLoadException>(() => SchedulerConfig.FromFile(path));
            Assert.Equal(path, invalid.Path);
            Assert.Contains(path, invalid.Message);

            string missing = Path.Combine(dir, "absent.json");
            var notFound = Assert.Throws<ModelLoadException>(() => SchedulerConfig.FromFile(missing));
            Assert.Equal(missing, notFound.Path);
            Assert.Contains(missing, notFound.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

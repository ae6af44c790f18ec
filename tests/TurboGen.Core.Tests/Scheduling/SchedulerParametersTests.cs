using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>
/// Scheduler parameters set on top of an override (a preset's): DMD2's LCM original_inference_steps 4 and Hyper-SD 1-step's TCD
/// gamma 1. Expected timesteps are the DMD2 model card's list (tianweiy/DMD2 README: <c>timesteps=[999, 749, 499, 249]</c>) and
/// diffusers 0.26.3 <c>LCMScheduler.set_timesteps(4)</c> on the SDXL base config (999, 759, 499, 259), both also printed by that
/// diffusers release (<c>set_timesteps(4, original_inference_steps=4)</c> gives the card's list).
/// </summary>
public class SchedulerParametersTests
{
    /// <summary>stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json: what the DMD2 and Hyper-SD LoRAs ship with.</summary>
    private const string SdxlBaseConfig = """
        {
          "_class_name": "EulerDiscreteScheduler",
          "_diffusers_version": "0.19.0.dev0",
          "beta_end": 0.012,
          "beta_schedule": "scaled_linear",
          "beta_start": 0.00085,
          "clip_sample": false,
          "interpolation_type": "linear",
          "num_train_timesteps": 1000,
          "prediction_type": "epsilon",
          "sample_max_value": 1.0,
          "set_alpha_to_one": false,
          "skip_prk_steps": true,
          "steps_offset": 1,
          "timestep_spacing": "leading",
          "trained_betas": null,
          "use_karras_sigmas": false
        }
        """;

    [Fact]
    public void LcmWithOriginalInferenceSteps4_GivesTheDmd2CardsTimesteps()
    {
        var config = Schedulers.ApplyOverride(SdxlBaseConfig, "lcm", parameters: new SchedulerParameters { OriginalInferenceSteps = 4 });
        Assert.Equal(4, config.OriginalInferenceSteps);
        var scheduler = Assert.IsType<LcmScheduler>(Schedulers.Create(config));
        Assert.Equal(new float[] { 999, 749, 499, 249 }, scheduler.SetTimesteps(4).Timesteps);

        // Without the parameter: LCMScheduler's default origin of 50 steps, a different schedule.
        var plain = Assert.IsType<LcmScheduler>(Schedulers.Create(Schedulers.ApplyOverride(SdxlBaseConfig, "lcm")));
        Assert.Equal(new float[] { 999, 759, 499, 259 }, plain.SetTimesteps(4).Timesteps);
        // The origin schedule has 4 entries: more steps than that are a request error, as in diffusers (skipping_step < 1).
        Assert.Throws<InvalidRequestException>(() => scheduler.SetTimesteps(5));
    }

    [Fact]
    public void TcdWithGamma1_CreatesATcdSchedulerWithThatGamma()
    {
        var config = Schedulers.ApplyOverride(SdxlBaseConfig, "tcd", parameters: new SchedulerParameters { Gamma = 1.0 });
        Assert.Equal(1.0, Assert.IsType<TcdScheduler>(Schedulers.Create(config)).Gamma);
        Assert.Equal(TcdScheduler.DefaultGamma, Assert.IsType<TcdScheduler>(Schedulers.Create(Schedulers.ApplyOverride(SdxlBaseConfig, "tcd"))).Gamma);
        // Out of range: the scheduler rejects it, naming the value.
        var bad = Schedulers.ApplyOverride(SdxlBaseConfig, "tcd", parameters: new SchedulerParameters { Gamma = 1.5 });
        Assert.Contains("1.5", Assert.ThrowsAny<TurboGenException>(() => Schedulers.Create(bad)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lcm", null, 1.0, "gamma")]
    [InlineData("euler", 4, null, "original_inference_steps")]
    [InlineData("euler-a", null, 0.5, "gamma")]
    public void AParameterTheOverridesClassDoesNotTake_IsARequestErrorNamingIt(string overrideName, int? originalSteps, double? gamma, string named)
    {
        var parameters = new SchedulerParameters { OriginalInferenceSteps = originalSteps, Gamma = gamma };
        var ex = Assert.Throws<InvalidRequestException>(() => Schedulers.ApplyOverride(SdxlBaseConfig, overrideName, parameters: parameters));
        Assert.Equal("scheduler", ex.Parameter);
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParametersNeedAnOverride_TheModelsOwnConfigIsKept()
    {
        string dir = Directory.CreateTempSubdirectory("turbogen-sched-").FullName;
        try
        {
            string path = Path.Combine(dir, "scheduler_config.json");
            File.WriteAllText(path, SdxlBaseConfig);
            var parameters = new SchedulerParameters { OriginalInferenceSteps = 4 };
            Assert.Throws<ArgumentException>(() => Schedulers.ReadConfig(path, null, parameters));
            Assert.Equal(4, Schedulers.ReadConfig(path, "lcm", parameters).OriginalInferenceSteps);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

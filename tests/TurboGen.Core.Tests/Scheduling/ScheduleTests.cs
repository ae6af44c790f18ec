using System.Text.Json;
using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

public class ScheduleTests
{
    public static TheoryData<string, string, int> GoldenSchedules()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string model in SchedulerGolden.Models)
        {
            foreach (string scheduler in SchedulerGolden.SchedulerNames)
            {
                foreach (JsonProperty steps in SchedulerGolden.Root.GetProperty("schedules").GetProperty(model).EnumerateObject())
                {
                    data.Add(model, scheduler, int.Parse(steps.Name));
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenSchedules))]
    public void ScheduleMatchesGolden(string model, string schedulerName, int steps)
    {
        JsonElement golden = SchedulerGolden.Root.GetProperty("schedules").GetProperty(model).GetProperty(steps.ToString());
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config(model, schedulerName));

        Schedule s = scheduler.SetTimesteps(steps);

        Assert.Equal(schedulerName, scheduler.Name);
        Assert.Equal(steps, s.StepCount);
        Assert.Equal(0, s.BeginIndex);
        Assert.Equal(SchedulerGolden.Doubles(golden.GetProperty("timesteps")).Select(t => (float)t), s.Timesteps);
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(golden.GetProperty("sigmas")), s.Sigmas, "sigmas");
        Assert.Equal(0f, s.Sigmas[^1]);
        SchedulerGolden.AssertClose(golden.GetProperty("init_noise_sigma").GetDouble(), s.InitNoiseSigma, "init_noise_sigma");

        double[] scale = SchedulerGolden.Doubles(golden.GetProperty("scale_model_input_factor_f32"));
        double[] sigmaUp = SchedulerGolden.Doubles(golden.GetProperty("sigma_up"));
        double[] sigmaDown = SchedulerGolden.Doubles(golden.GetProperty("sigma_down"));
        for (int i = 0; i < steps; i++)
        {
            SchedulerGolden.AssertClose(scale[i], scheduler.ScaleFactor(s, i), $"scale factor {i}");
            // The golden σ_up/σ_down are float64 evaluations; diffusers' step (and ours) computes them in float32,
            // where σ_to² − σ_up² cancels: ~1.3e-6 apart. Bit-level parity is checked by the float32 literals below
            // and by the traces.
            (float up, float down) = EulerAncestralDiscreteScheduler.AncestralSplit(s.Sigmas[i], s.Sigmas[i + 1]);
            SchedulerGolden.AssertClose(sigmaUp[i], up, $"sigma_up {i}");
            SchedulerGolden.AssertClose(sigmaDown[i], down, $"sigma_down {i}", tolerance: 2e-6);
        }
    }

    [Fact]
    public void AncestralSplitIsComputedInFloat32LikeDiffusers()
    {
        // float32 emulation of diffusers' (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5 etc.
        Assert.Equal((1.6030347347259521f, 0.17800112068653107f), EulerAncestralDiscreteScheduler.AncestralSplit(14.614645004272461f, 1.6128870248794556f));
        Assert.Equal((2.859534502029419f, 0.582740306854248f), EulerAncestralDiscreteScheduler.AncestralSplit(14.614645004272461f, 2.9183082580566406f));
        Assert.Equal((0f, 0f), EulerAncestralDiscreteScheduler.AncestralSplit(0.6932054162025452f, 0f));
    }

    [Fact]
    public void TrailingTimestepsForEveryStepCountStartAt999AndDescend()
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        for (int steps = 1; steps <= EulerSchedulerBase.MaxSteps; steps++)
        {
            Schedule s = scheduler.SetTimesteps(steps);
            Assert.Equal(steps, s.Timesteps.Count);
            Assert.Equal(steps + 1, s.Sigmas.Count);
            Assert.Equal(999f, s.Timesteps[0]);
            for (int i = 1; i < steps; i++)
            {
                Assert.True(s.Timesteps[i] < s.Timesteps[i - 1] && s.Timesteps[i] >= 0, $"steps {steps}: timesteps not descending at {i}");
                Assert.True(s.Sigmas[i] < s.Sigmas[i - 1], $"steps {steps}: sigmas not descending at {i}");
            }
        }
    }

    [Fact]
    public void TrailingRoundsHalvesToEvenLikeNumpy()
    {
        // arange(1000, 0, -62.5) has 937.5, 812.5, ...: numpy rounds them to the even neighbour.
        float[] expected16 = [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61];
        Assert.Equal(expected16, TimestepSpacing.ComputeTrailing(16, 1000));
        // For 48 steps numpy's arange yields 937.4999999999999 (not 937.5), which rounds down.
        float[] steps48 = TimestepSpacing.ComputeTrailing(48, 1000);
        Assert.Equal(936f, steps48[3]);
        Assert.Equal(20f, steps48[^1]);
    }

    [Fact]
    public void LeadingAndLinspaceSpacingsFollowDiffusers()
    {
        Assert.Equal([751f, 501f, 251f, 1f], TimestepSpacing.ComputeLeading(4, 1000, 1));
        Assert.Equal([999f, 666f, 333f, 0f], TimestepSpacing.ComputeLinspace(4, 1000));

        var leading = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo") with { TimestepSpacing = "leading" });
        Schedule s = leading.SetTimesteps(4);
        var table = new NoiseTable(SchedulerGolden.Config("sdxl_turbo"));
        Assert.Equal(table.Sigmas[751], s.Sigmas[0]);
        Assert.Equal(MathF.Sqrt(table.Sigmas[751] * table.Sigmas[751] + 1f), s.InitNoiseSigma);

        var linspace = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo") with { TimestepSpacing = "linspace" });
        s = linspace.SetTimesteps(3);
        Assert.Equal([999f, 499.5f, 0f], s.Timesteps);
        Assert.Equal((table.Sigmas[499] + table.Sigmas[500]) / 2, s.Sigmas[1], 1e-6f);
        Assert.Equal(table.Sigmas[999], s.InitNoiseSigma);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(51)]
    public void StepsOutOfRangeAreRejected(int steps)
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        var ex = Assert.Throws<InvalidRequestException>(() => scheduler.SetTimesteps(steps));
        Assert.Equal("steps", ex.Parameter);
        Assert.Contains("1..50", ex.Message);
        Assert.Equal("steps", Assert.Throws<InvalidRequestException>(() => scheduler.SetTimestepsForStrength(steps, 0.5f)).Parameter);
    }

    [Fact]
    public void UnknownSchedulerClassListsTheSupportedOnes()
    {
        var ex = Assert.Throws<TurboGenException>(() => Schedulers.Create(new SchedulerConfig { ClassName = "DPMSolverMultistepScheduler" }));
        Assert.IsNotAssignableFrom<ModelLoadException>(ex);
        Assert.Contains("DPMSolverMultistepScheduler", ex.Message);
        Assert.Contains("EulerAncestralDiscreteScheduler", ex.Message);
        Assert.Contains("EulerDiscreteScheduler", ex.Message);
    }

    [Theory]
    [InlineData("prediction_type", "flow_prediction")]
    [InlineData("timestep_spacing", "karras")]
    [InlineData("interpolation_type", "log_linear")]
    [InlineData("use_karras_sigmas", "true")]
    [InlineData("timestep_type", "continuous")]
    [InlineData("final_sigmas_type", "sigma_min")]
    [InlineData("rescale_betas_zero_snr", "true")]
    public void UnsupportedOptionsAreRejectedByName(string key, string value)
    {
        string json = $$"""{"_class_name": "EulerDiscreteScheduler", "{{key}}": {{(value == "true" ? "true" : $"\"{value}\"")}}}""";
        var ex = Assert.ThrowsAny<TurboGenException>(() => Schedulers.Create(SchedulerConfig.FromJson(json)));
        Assert.Contains(key, ex.Message);
    }
}

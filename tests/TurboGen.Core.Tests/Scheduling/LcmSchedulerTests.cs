using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>LCMScheduler against tests/data/golden/scheduler_lcm (diffusers 0.26.3), to 1e-6.</summary>
public class LcmSchedulerTests
{
    private static CaseFile Case => CaseFile.Get("scheduler_lcm");

    private static LcmScheduler Create(ImageToImageRule rule = ImageToImageRule.ShortenOrigin) =>
        new(Case.Config(LcmScheduler.ClassName), rule);

    public static TheoryData<string> TraceNames() => Case.TraceNames();

    [Fact]
    public void AlphasCumprodMatchTheReference()
    {
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(Case.Root.GetProperty("alphas_cumprod_f32")), Create().Table.AlphasCumprod, "alphas_cumprod", 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void SkippingStepScheduleAndBoundaryConditionsMatch(int steps)
    {
        LcmScheduler scheduler = Create();
        JsonElement expected = Case.Root.GetProperty("schedules").GetProperty(steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Schedule s = scheduler.SetTimesteps(steps);

        Assert.Equal(CaseFile.Floats(expected.GetProperty("timesteps")), s.Timesteps);
        Assert.Equal(1f, s.InitNoiseSigma);
        Assert.Equal(0, s.BeginIndex);
        foreach (JsonElement perStep in expected.GetProperty("per_timestep").EnumerateArray())
        {
            float t = perStep.GetProperty("t").GetSingle();
            (float cSkip, float cOut) = scheduler.BoundaryConditions(t);
            Assert.Equal(perStep.GetProperty("c_skip_f32").GetSingle(), cSkip);
            Assert.Equal(perStep.GetProperty("c_out_f32").GetSingle(), cOut);
            Assert.Equal(perStep.GetProperty("alpha_prod_t").GetSingle(), scheduler.Table.AlphasCumprod[(int)t]);
        }
    }

    public static TheoryData<string> ImageToImageCases()
    {
        var data = new TheoryData<string>();
        foreach (JsonProperty c in Case.Root.GetProperty("img2img").EnumerateObject()) data.Add(c.Name);
        return data;
    }

    /// <summary>Both recorded semantics: the LCM pipelines shorten the origin schedule, SD/SDXL img2img slices the full one.</summary>
    [Theory]
    [MemberData(nameof(ImageToImageCases))]
    public void ImageToImageSchedulesMatchBothPipelineRules(string name)
    {
        JsonElement c = Case.Root.GetProperty("img2img").GetProperty(name);
        var (steps, strength) = SchedulerGolden.ImageToImageCase(name);

        Schedule shortened = Create(ImageToImageRule.ShortenOrigin).SetTimestepsForStrength(steps, strength);
        Assert.Equal(CaseFile.Floats(c.GetProperty("lcm_img2img_pipeline").GetProperty("timesteps")), shortened.Timesteps);

        JsonElement sliced = c.GetProperty("sd_img2img_pipeline_get_timesteps");
        Schedule s = Create(ImageToImageRule.SliceSchedule).SetTimestepsForStrength(steps, strength);
        if (sliced.GetProperty("effective_steps").GetInt32() > 0)
        {
            Assert.Equal(CaseFile.Floats(sliced.GetProperty("timesteps")), s.Timesteps);
            Assert.Equal(sliced.GetProperty("t_start").GetInt32(), s.BeginIndex);
        }
        else
        {
            // diffusers' pipeline raises here; TurboGen runs one step from the shortened origin schedule's first timestep.
            Assert.Equal([shortened.Timesteps[0]], s.Timesteps);
            Assert.Equal(steps, s.BeginIndex);
        }
    }

    [Theory]
    [MemberData(nameof(TraceNames))]
    public void TraceMatchesDiffusers(string name)
    {
        JsonElement trace = Case.Root.GetProperty("traces").GetProperty(name);
        int steps = trace.GetProperty("num_inference_steps").GetInt32();
        float strength = trace.GetProperty("strength").GetSingle();
        LcmScheduler scheduler = Create();
        Assert.True(scheduler.IsAncestral);
        using var tensors = new GoldenTensors(Case.TracePath);

        var (s, latents) = SchedulerGolden.Start(scheduler, trace, tensors, name, steps, strength);

        var scaled = new float[latents.Length];
        var denoised = new float[latents.Length];
        for (int i = 0; i < steps; i++)
        {
            string step = $"{name}.step{i}";
            scheduler.ScaleModelInput(s, i, latents, scaled);
            Assert.Equal(latents, scaled);
            Assert.Equal(1f, scheduler.ScaleFactor(s, i));
            bool usesNoise = trace.GetProperty("steps")[i].GetProperty("uses_noise").GetBoolean();
            Assert.Equal(usesNoise, tensors.Contains($"{step}.noise"));
            float[] noise = usesNoise ? tensors.Float($"{step}.noise") : [];

            scheduler.Step(s, i, tensors.Float($"{step}.model_output"), latents, noise, latents, denoised);

            SchedulerGolden.AssertTensor(tensors.Float($"{step}.denoised"), denoised, $"step {i} denoised", 1e-6);
            SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_{i + 1}"), latents, $"latents_{i + 1}", 1e-6);
        }
        SchedulerGolden.AssertTensor(tensors.Float(trace.GetProperty("final").GetString()!), latents, "final", 1e-6);
    }

    [Fact]
    public void LastStepReturnsDenoisedAndIgnoresNoise()
    {
        LcmScheduler scheduler = Create();
        Schedule s = scheduler.SetTimesteps(2);
        float[] x = [1f, -0.5f];
        float[] eps = [0.3f, 0.1f];
        var prev = new float[2];
        var denoised = new float[2];

        scheduler.Step(s, 1, eps, x, [], prev, denoised);

        Assert.Equal(denoised, prev);
        Assert.Throws<ArgumentException>(() => scheduler.Step(s, 0, eps, x, [], prev, denoised));
    }

    [Fact]
    public void RequestsOutsideTheDistillationScheduleAreRejected()
    {
        LcmScheduler scheduler = Create();
        Assert.Equal("steps", Assert.Throws<InvalidRequestException>(() => scheduler.SetTimesteps(51)).Parameter);
        Assert.Equal("steps", Assert.Throws<InvalidRequestException>(() => scheduler.SetTimesteps(0)).Parameter);
        // int(50·0.1) = 5 origin timesteps cannot give 8 steps (diffusers raises the same).
        Assert.Equal("strength", Assert.Throws<InvalidRequestException>(() => scheduler.SetTimestepsForStrength(8, 0.1f)).Parameter);
        Assert.Equal("strength", Assert.Throws<InvalidRequestException>(() => scheduler.SetTimestepsForStrength(1, 0f)).Parameter);
    }

    [Fact]
    public void UnsupportedOptionsAreRejected()
    {
        SchedulerConfig config = Case.Config(LcmScheduler.ClassName);
        Assert.Throws<TurboGenException>(() => new LcmScheduler(config with { ClipSample = true }));
        Assert.Throws<TurboGenException>(() => new LcmScheduler(config with { Thresholding = true }));
        Assert.Throws<TurboGenException>(() => new LcmScheduler(config with { PredictionType = "flow" }));
        Assert.Throws<TurboGenException>(() => new LcmScheduler(config with { OriginalInferenceSteps = 2000 }));
    }
}

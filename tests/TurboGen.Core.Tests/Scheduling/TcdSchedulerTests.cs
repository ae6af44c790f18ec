using System.Globalization;
using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>TCDScheduler against tests/data/golden/scheduler_tcd (diffusers 0.27.0; see its case.json for how it was made), to 1e-6.</summary>
public class TcdSchedulerTests
{
    private static CaseFile Case => CaseFile.Get("scheduler_tcd");

    private static TcdScheduler Create(double gamma = TcdScheduler.DefaultGamma, string? prediction = null,
        ImageToImageRule rule = ImageToImageRule.ShortenOrigin) =>
        new(Case.Config(TcdScheduler.ClassName, prediction), gamma, rule);

    public static TheoryData<string> TraceNames() => Case.TraceNames();

    [Fact]
    public void TheRecipeConfigKeepsTheBaseModelsBetasAndTakesTheTcdDefaults()
    {
        // config_given is the SDXL base EulerDiscreteScheduler config; the override reads it as diffusers' from_config does.
        SchedulerConfig config = Schedulers.ApplyOverride(Case.Root.GetProperty("config_given").GetRawText(), "tcd");
        Assert.Equal(TcdScheduler.ClassName, config.ClassName);
        Assert.Equal(50, config.OriginalInferenceSteps);
        TcdScheduler scheduler = Assert.IsType<TcdScheduler>(Schedulers.Create(config));
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(Case.Root.GetProperty("alphas_cumprod_f32")), scheduler.Table.AlphasCumprod, "alphas_cumprod", 0);
        Assert.Equal(0.3, scheduler.Gamma);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void ScheduleMatches(int steps)
    {
        JsonElement expected = Case.Root.GetProperty("schedules").GetProperty(steps.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(CaseFile.Floats(expected.GetProperty("timesteps")), Create().SetTimesteps(steps).Timesteps);
    }

    public static TheoryData<string> ImageToImageCases()
    {
        var data = new TheoryData<string>();
        foreach (JsonProperty c in Case.Root.GetProperty("img2img").EnumerateObject()) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ImageToImageCases))]
    public void ImageToImageSchedulesMatch(string name)
    {
        JsonElement c = Case.Root.GetProperty("img2img").GetProperty(name);
        var (steps, strength) = SchedulerGolden.ImageToImageCase(name);
        JsonElement tcd = c.GetProperty("tcd_set_timesteps_strength");
        if (tcd.TryGetProperty("error", out _))
        {
            Assert.Equal("strength", Assert.Throws<InvalidRequestException>(() => Create().SetTimestepsForStrength(steps, strength)).Parameter);
            return;
        }
        Assert.Equal(CaseFile.Floats(tcd.GetProperty("timesteps")), Create().SetTimestepsForStrength(steps, strength).Timesteps);
        JsonElement sliced = c.GetProperty("sd_img2img_pipeline_get_timesteps");
        if (sliced.GetProperty("effective_steps").GetInt32() > 0)
        {
            Schedule s = Create(rule: ImageToImageRule.SliceSchedule).SetTimestepsForStrength(steps, strength);
            Assert.Equal(CaseFile.Floats(sliced.GetProperty("timesteps")), s.Timesteps);
        }
    }

    [Theory]
    [MemberData(nameof(TraceNames))]
    public void TraceMatchesDiffusers(string name)
    {
        JsonElement trace = Case.Root.GetProperty("traces").GetProperty(name);
        int steps = trace.GetProperty("num_inference_steps").GetInt32();
        float strength = trace.GetProperty("strength").GetSingle();
        double eta = trace.GetProperty("eta").GetDouble();
        TcdScheduler scheduler = Create(eta, trace.GetProperty("prediction_type").GetString());
        Assert.Equal(eta > 0, scheduler.IsAncestral);
        using var tensors = new GoldenTensors(Case.TracePath);

        var (s, latents) = SchedulerGolden.Start(scheduler, trace, tensors, name, steps, strength);

        var x0 = new float[latents.Length];
        for (int i = 0; i < steps; i++)
        {
            string step = $"{name}.step{i}";
            JsonElement info = trace.GetProperty("steps")[i];
            float next = i + 1 < steps ? s.Timesteps[i + 1] : 0f;
            Assert.Equal(info.GetProperty("prev_t").GetSingle(), next);
            Assert.Equal(info.GetProperty("timestep_s").GetInt32(), scheduler.IntermediateTimestep(next));
            bool usesNoise = info.GetProperty("uses_noise").GetBoolean();
            Assert.Equal(usesNoise, tensors.Contains($"{step}.noise"));
            float[] noise = usesNoise ? tensors.Float($"{step}.noise") : [];

            scheduler.Step(s, i, tensors.Float($"{step}.model_output"), latents, noise, latents, x0);

            SchedulerGolden.AssertTensor(tensors.Float($"{step}.pred_original_sample"), x0, $"step {i} pred_original_sample", 1e-6);
            SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_{i + 1}"), latents, $"latents_{i + 1}", 1e-6);
        }
        SchedulerGolden.AssertTensor(tensors.Float(trace.GetProperty("final").GetString()!), latents, "final", 1e-6);
    }

    [Fact]
    public void GammaZeroIsDeterministicAndGammaOutOfRangeIsRejected()
    {
        TcdScheduler deterministic = Create(0);
        Schedule s = deterministic.SetTimesteps(2);
        var prev = new float[1];
        deterministic.Step(s, 0, [0.2f], [1f], [], prev, []);
        Assert.True(float.IsFinite(prev[0]));
        Assert.Throws<ArgumentException>(() => Create().Step(s, 0, [0.2f], [1f], [], prev, []));
        Assert.Throws<TurboGenException>(() => Create(1.5));
        Assert.Throws<TurboGenException>(() => Create(-0.1));
    }
}

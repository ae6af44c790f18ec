using System.Globalization;
using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>EulerDiscrete with prediction_type "sample" (SDXL-Lightning 1-step) against tests/data/golden/scheduler_euler_sample_prediction, to 1e-6.</summary>
public class EulerSamplePredictionTests
{
    private static CaseFile Case => CaseFile.Get("scheduler_euler_sample_prediction");

    private static IScheduler Create() =>
        Schedulers.Create(SchedulerConfig.FromJson(Case.Root.GetProperty("config_given").GetRawText(), EulerDiscreteScheduler.ClassName, null));

    public static TheoryData<string> TraceNames() => Case.TraceNames();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void ScheduleMatches(int steps)
    {
        JsonElement expected = Case.Root.GetProperty("schedules").GetProperty(steps.ToString(CultureInfo.InvariantCulture));
        Schedule s = Create().SetTimesteps(steps);
        Assert.Equal(CaseFile.Floats(expected.GetProperty("timesteps")), s.Timesteps);
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(expected.GetProperty("sigmas")), s.Sigmas, "sigmas");
        SchedulerGolden.AssertClose(expected.GetProperty("init_noise_sigma").GetDouble(), s.InitNoiseSigma, "init_noise_sigma");
        for (int i = 0; i < steps; i++)
        {
            SchedulerGolden.AssertClose(expected.GetProperty("scale_model_input_factor")[i].GetDouble(), Create().ScaleFactor(s, i), $"scale factor {i}");
        }
    }

    [Theory]
    [MemberData(nameof(TraceNames))]
    public void TraceMatchesDiffusers(string name)
    {
        JsonElement trace = Case.Root.GetProperty("traces").GetProperty(name);
        IScheduler scheduler = Create();
        Assert.False(scheduler.IsAncestral);
        using var tensors = new GoldenTensors(Case.TracePath);
        int steps = trace.GetProperty("timesteps").GetArrayLength();
        Schedule s = scheduler.SetTimesteps(steps);

        float[] latents = tensors.Float($"{name}.initial_noise");
        for (int j = 0; j < latents.Length; j++) latents[j] *= s.InitNoiseSigma;
        SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_0"), latents, "latents_0", 1e-6);
        var scaled = new float[latents.Length];
        var x0 = new float[latents.Length];
        for (int i = 0; i < steps; i++)
        {
            string step = $"{name}.step{i}";
            scheduler.ScaleModelInput(s, i, latents, scaled);
            SchedulerGolden.AssertTensor(tensors.Float($"{step}.scaled_model_input"), scaled, $"step {i} scaled_model_input", 1e-6);
            float[] modelOutput = tensors.Float($"{step}.model_output");

            scheduler.Step(s, i, modelOutput, latents, [], latents, x0);

            Assert.Equal(modelOutput, x0);
            SchedulerGolden.AssertTensor(tensors.Float($"{step}.pred_original_sample"), x0, $"step {i} pred_original_sample", 1e-6);
            SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_{i + 1}"), latents, $"latents_{i + 1}", 1e-6);
        }
        SchedulerGolden.AssertTensor(tensors.Float(trace.GetProperty("final").GetString()!), latents, "final", 1e-6);
    }

    [Fact]
    public void AncestralEulerRejectsSamplePredictionAsDiffusersDoes()
    {
        SchedulerConfig config = SchedulerConfig.FromJson(Case.Root.GetProperty("config_given").GetRawText(), EulerAncestralDiscreteScheduler.ClassName, null);
        var ex = Assert.ThrowsAny<TurboGenException>(() => Schedulers.Create(config));
        Assert.Contains("sample", ex.Message, StringComparison.Ordinal);
    }
}

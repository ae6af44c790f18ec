using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

/// <summary>
/// Full sampler runs against diffusers: the golden traces replace the UNet by model_output = 0.1·scaled_model_input
/// and record the noise they fed, so every intermediate tensor is reproducible.
/// </summary>
public class TraceTests
{
    public static TheoryData<string> TraceNames()
    {
        var data = new TheoryData<string>();
        foreach (JsonProperty trace in SchedulerGolden.Root.GetProperty("traces").EnumerateObject())
        {
            data.Add(trace.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(TraceNames))]
    public void TraceMatchesDiffusers(string name)
    {
        JsonElement trace = SchedulerGolden.Root.GetProperty("traces").GetProperty(name);
        string model = name[..name.IndexOf('.')];
        string schedulerName = trace.GetProperty("scheduler").GetString()!;
        int steps = trace.GetProperty("num_inference_steps").GetInt32();
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config(model, schedulerName));
        Assert.Equal(schedulerName == EulerAncestralDiscreteScheduler.ClassName, scheduler.IsAncestral);
        using var tensors = new GoldenTensors(SchedulerGolden.TracePath);

        Schedule s = scheduler.SetTimesteps(steps);
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(trace.GetProperty("sigmas")), s.Sigmas, "sigmas");

        float[] latents = tensors.Float($"{name}.initial_noise");
        for (int j = 0; j < latents.Length; j++) latents[j] *= s.InitNoiseSigma;
        SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_0"), latents, "latents_0");

        var scaled = new float[latents.Length];
        var modelOutput = new float[latents.Length];
        var predOriginal = new float[latents.Length];
        for (int i = 0; i < steps; i++)
        {
            string step = $"{name}.step{i}";
            scheduler.ScaleModelInput(s, i, latents, scaled);
            SchedulerGolden.AssertTensor(tensors.Float($"{step}.scaled_model_input"), scaled, $"step {i} scaled_model_input");
            for (int j = 0; j < scaled.Length; j++) modelOutput[j] = 0.1f * scaled[j];
            float[] noise = scheduler.IsAncestral ? tensors.Float($"{step}.noise") : [];

            scheduler.Step(s, i, modelOutput, latents, noise, latents, predOriginal);

            SchedulerGolden.AssertTensor(tensors.Float($"{step}.pred_original_sample"), predOriginal, $"step {i} pred_original_sample");
            SchedulerGolden.AssertTensor(tensors.Float($"{name}.latents_{i + 1}"), latents, $"latents_{i + 1}");
        }
        SchedulerGolden.AssertTensor(tensors.Float(trace.GetProperty("final").GetString()!), latents, "final");
    }

    [Fact]
    public void LastStepLandsExactlyOnPredictedOriginal()
    {
        foreach (string name in SchedulerGolden.SchedulerNames)
        {
            IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo", name));
            Schedule s = scheduler.SetTimesteps(1);
            float[] sample = [1f, -2f, 3f];
            float[] eps = [0.5f, 0.25f, -1f];
            var prev = new float[3];
            var x0 = new float[3];

            scheduler.Step(s, 0, eps, sample, [7f, 7f, 7f], prev, x0);

            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(sample[j] - s.Sigmas[0] * eps[j], x0[j]);
                Assert.Equal(x0[j], prev[j], 1e-5f);
            }
        }
    }
}

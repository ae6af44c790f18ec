using System.Text.Json;
using TurboGen.Scheduling;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Scheduling;

public class Img2ImgTests
{
    public static TheoryData<string, string> GoldenCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in SchedulerGolden.Models)
        {
            foreach (JsonProperty c in SchedulerGolden.Root.GetProperty("img2img").GetProperty(model).EnumerateObject())
            {
                data.Add(model, c.Name);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void StrengthScheduleNoiseAndFirstStepMatchDiffusers(string model, string caseName)
    {
        JsonElement golden = SchedulerGolden.Root.GetProperty("img2img").GetProperty(model).GetProperty(caseName);
        int steps = golden.GetProperty("num_inference_steps").GetInt32();
        float strength = (float)golden.GetProperty("strength").GetDouble();
        int tStart = golden.GetProperty("t_start").GetInt32();
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config(model));

        Schedule s = scheduler.SetTimestepsForStrength(steps, strength);

        Assert.Equal(tStart, s.BeginIndex);
        Assert.Equal(golden.GetProperty("effective_steps").GetInt32(), s.StepCount);
        Assert.Equal(SchedulerGolden.Doubles(golden.GetProperty("timesteps")).Select(t => (float)t), s.Timesteps);
        Assert.Equal((float)golden.GetProperty("latent_timestep").GetDouble(), s.Timesteps[0]);
        SchedulerGolden.AssertClose(SchedulerGolden.Doubles(golden.GetProperty("all_sigmas")).Skip(tStart).ToArray(), s.Sigmas, "sigmas");
        SchedulerGolden.AssertClose(golden.GetProperty("add_noise_sigma").GetDouble(), s.Sigmas[0], "add_noise_sigma");

        using var tensors = new GoldenTensors(SchedulerGolden.TracePath);
        string prefix = $"{model}.img2img.{caseName}";
        float[] init = tensors.Float($"{prefix}.init_latents");
        var noisy = new float[init.Length];
        scheduler.AddNoise(s, init, tensors.Float($"{prefix}.noise"), noisy);
        SchedulerGolden.AssertTensor(tensors.Float($"{prefix}.noisy_latents"), noisy, "noisy_latents");

        if (tensors.Contains($"{prefix}.step0_prev_sample"))
        {
            // The first denoising step with the traces' stand-in UNet (0.1 · scaled input) and the recorded noise.
            var modelOutput = new float[init.Length];
            scheduler.ScaleModelInput(s, 0, noisy, modelOutput);
            for (int j = 0; j < modelOutput.Length; j++) modelOutput[j] *= 0.1f;
            var prev = new float[init.Length];
            scheduler.Step(s, 0, modelOutput, noisy, tensors.Float($"{prefix}.step0_noise"), prev, []);
            SchedulerGolden.AssertTensor(tensors.Float($"{prefix}.step0_prev_sample"), prev, "step0_prev_sample");
        }
    }

    [Fact]
    public void StrengthOneIsTheFullSchedule()
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        Schedule full = scheduler.SetTimesteps(4);
        Schedule s = scheduler.SetTimestepsForStrength(4, 1f);
        Assert.Equal(full.Timesteps, s.Timesteps);
        Assert.Equal(full.Sigmas, s.Sigmas);
        Assert.Equal(0, s.BeginIndex);
    }

    [Theory]
    [InlineData(1, 0.5f, 499f, 2)]    // the 2-step schedule's second step
    [InlineData(1, 0.25f, 249f, 4)]   // the 4-step schedule's last step
    [InlineData(3, 0.25f, 249f, 4)]   // int(0.75) = 0 as well
    [InlineData(2, 0.3f, 299f, 0)]
    [InlineData(1, 0.001f, 0f, 0)]    // round(1) − 1
    [InlineData(1, 0.0004f, 0f, 0)]   // round(0.4) − 1 = −1, clamped
    public void BelowOneStepRunsOneStepAtTheTimestepStrengthImplies(int steps, float strength, float timestep, int equivalentSteps)
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        var table = new NoiseTable(SchedulerGolden.Config("sdxl_turbo"));

        Schedule s = scheduler.SetTimestepsForStrength(steps, strength);

        Assert.Equal([timestep], s.Timesteps);
        Assert.Equal([table.Sigmas[(int)timestep], 0f], s.Sigmas);
        Assert.Equal(steps, s.BeginIndex);
        Assert.Equal(scheduler.SetTimesteps(steps).InitNoiseSigma, s.InitNoiseSigma);
        if (equivalentSteps > 0)
        {
            Schedule trailing = scheduler.SetTimesteps(equivalentSteps);
            Assert.Equal(trailing.Timesteps[^1], s.Timesteps[0]);
            Assert.Equal(trailing.Sigmas[^2], s.Sigmas[0]);
        }
    }

    [Fact]
    public void GoldenDocumentedExampleOneStepAtHalfStrengthIsTimestep499()
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sd_turbo", EulerDiscreteScheduler.ClassName));
        Schedule s = scheduler.SetTimestepsForStrength(1, 0.5f);
        Assert.Equal([499f], s.Timesteps);
        SchedulerGolden.AssertClose([1.6128870248794556, 0.0], s.Sigmas, "sigmas");
    }

    [Fact]
    public void StrengthIsReadAsItsDecimalValueLikePython()
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        // Python: int(10 * 0.7) = 7; the float 0.7f is 0.69999998… and would give 6.
        Assert.Equal(7, scheduler.SetTimestepsForStrength(10, 0.7f).StepCount);
        Assert.Equal(3, scheduler.SetTimestepsForStrength(10, 0.3f).StepCount);
        Assert.Equal(3, scheduler.SetTimestepsForStrength(4, 0.75f).StepCount);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-0.5f)]
    [InlineData(1.0001f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void StrengthOutOfRangeIsRejected(float strength)
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        var ex = Assert.Throws<InvalidRequestException>(() => scheduler.SetTimestepsForStrength(2, strength));
        Assert.Equal("strength", ex.Parameter);
        Assert.Contains("(0, 1]", ex.Message);
    }

    [Fact]
    public void AddNoiseUsesTheFirstSigmaOfTheSchedule()
    {
        IScheduler scheduler = Schedulers.Create(SchedulerGolden.Config("sdxl_turbo"));
        Schedule s = scheduler.SetTimestepsForStrength(4, 0.5f);
        float[] original = [1f, 2f];
        float[] destination = new float[2];
        scheduler.AddNoise(s, original, [0.5f, -1f], destination);
        Assert.Equal([1f + 0.5f * s.Sigmas[0], 2f - s.Sigmas[0]], destination);
        Assert.Throws<ArgumentException>(() => scheduler.AddNoise(s, original, [0.5f], destination));
    }
}

using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

public class StepTests
{
    private static IScheduler Create(string className, string prediction = "epsilon") =>
        Schedulers.Create(SchedulerGolden.Config("sdxl_turbo", className) with { PredictionType = prediction });

    [Fact]
    public void AncestralStepRequiresNoiseOfTheSampleLength()
    {
        IScheduler scheduler = Create(EulerAncestralDiscreteScheduler.ClassName);
        Schedule s = scheduler.SetTimesteps(2);
        float[] x = [1f, 2f];
        var prev = new float[2];

        var ex = Assert.Throws<ArgumentException>(() => scheduler.Step(s, 0, x, x, [], prev, []));
        Assert.Equal("noise", ex.ParamName);
        Assert.Throws<ArgumentException>(() => scheduler.Step(s, 0, [1f], x, x, prev, []));
        Assert.Throws<ArgumentException>(() => scheduler.Step(s, 0, x, x, x, new float[3], []));
        Assert.Throws<ArgumentException>(() => scheduler.Step(s, 0, x, x, x, prev, new float[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Step(s, 2, x, x, x, prev, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Step(s, -1, x, x, x, prev, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.ScaleFactor(s, 2));
    }

    [Fact]
    public void AncestralStepAddsNoiseScaledBySigmaUp()
    {
        IScheduler scheduler = Create(EulerAncestralDiscreteScheduler.ClassName);
        Schedule s = scheduler.SetTimesteps(2);
        float[] x = [3f];
        float[] eps = [0.2f];
        var withoutNoise = new float[1];
        var withNoise = new float[1];

        scheduler.Step(s, 0, eps, x, [0f], withoutNoise, []);
        scheduler.Step(s, 0, eps, x, [1f], withNoise, []);

        (float up, float down) = EulerAncestralDiscreteScheduler.AncestralSplit(s.Sigmas[0], s.Sigmas[1]);
        float x0 = 3f - s.Sigmas[0] * 0.2f;
        Assert.Equal(3f + (3f - x0) / s.Sigmas[0] * (down - s.Sigmas[0]), withoutNoise[0]);
        Assert.Equal(withoutNoise[0] + up, withNoise[0], 1e-6f);
    }

    [Fact]
    public void EulerStepIgnoresNoiseAndMovesToTheNextSigma()
    {
        IScheduler scheduler = Create(EulerDiscreteScheduler.ClassName);
        Schedule s = scheduler.SetTimesteps(2);
        float[] x = [3f, -1f];
        float[] eps = [0.2f, 0.4f];
        var prev = new float[2];
        var x0 = new float[2];

        scheduler.Step(s, 0, eps, x, [], prev, x0);

        for (int j = 0; j < 2; j++)
        {
            Assert.Equal(x[j] - s.Sigmas[0] * eps[j], x0[j]);
            Assert.Equal(x[j] + (x[j] - x0[j]) / s.Sigmas[0] * (s.Sigmas[1] - s.Sigmas[0]), prev[j]);
        }
    }

    [Theory]
    [InlineData(EulerAncestralDiscreteScheduler.ClassName)]
    [InlineData(EulerDiscreteScheduler.ClassName)]
    public void VPredictionUsesTheVParameterisation(string className)
    {
        IScheduler scheduler = Create(className, "v_prediction");
        Schedule s = scheduler.SetTimesteps(1);
        float sigma = s.Sigmas[0];
        float[] x = [2f];
        float[] v = [0.5f];
        var prev = new float[1];
        var x0 = new float[1];

        scheduler.Step(s, 0, v, x, [0f], prev, x0);

        float expected = 0.5f * (-sigma / MathF.Sqrt(sigma * sigma + 1f)) + 2f / (sigma * sigma + 1f);
        Assert.Equal(expected, x0[0]);
        Assert.Equal(expected, prev[0], 1e-5f);
    }

    [Fact]
    public void ScaleModelInputDividesBySqrtSigmaSquaredPlusOneAndWorksInPlace()
    {
        IScheduler scheduler = Create(EulerAncestralDiscreteScheduler.ClassName);
        Schedule s = scheduler.SetTimesteps(4);
        float[] buffer = [1f, -2f, 40f];
        float divisor = MathF.Sqrt(s.Sigmas[1] * s.Sigmas[1] + 1f);

        scheduler.ScaleModelInput(s, 1, buffer, buffer);

        Assert.Equal([1f / divisor, -2f / divisor, 40f / divisor], buffer);
        Assert.Equal(1f / divisor, scheduler.ScaleFactor(s, 1));
        Assert.Throws<ArgumentException>(() => scheduler.ScaleModelInput(s, 1, buffer, new float[2]));
    }
}

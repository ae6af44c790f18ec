using System.Text.Json;
using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

public class NoiseTableTests
{
    [Theory]
    [InlineData("sdxl_turbo")]
    [InlineData("sd_turbo")]
    public void AlphasCumprodMatchesDiffusersBitForBit(string model)
    {
        var table = new NoiseTable(SchedulerGolden.Config(model));
        JsonElement expected = SchedulerGolden.Root.GetProperty("train").GetProperty(model).GetProperty("alphas_cumprod_f32");

        Assert.Equal(1000, table.Count);
        int i = 0;
        foreach (JsonElement value in expected.EnumerateArray())
        {
            Assert.True((float)value.GetDouble() == table.AlphasCumprod[i], $"alphas_cumprod[{i}]: {table.AlphasCumprod[i]:R} != {value.GetDouble():R}");
            i++;
        }
        Assert.Equal(1000, i);
    }

    [Fact]
    public void TrainingSigmasAreSqrtOfNoiseToSignalRatio()
    {
        var table = new NoiseTable(SchedulerGolden.Config("sdxl_turbo"));

        Assert.Equal(14.614645004272461f, table.Sigmas[999]);
        Assert.Equal(1.6128870248794556f, table.Sigmas[499]);
        Assert.Equal(0.6932054162025452f, table.Sigmas[249]);
        for (int t = 1; t < table.Count; t++)
        {
            Assert.True(table.Sigmas[t] > table.Sigmas[t - 1], $"sigmas must increase with t (t={t})");
        }
    }

    [Fact]
    public void SigmaAtInterpolatesLinearlyAndClamps()
    {
        var table = new NoiseTable(SchedulerGolden.Config("sdxl_turbo"));

        Assert.Equal(table.Sigmas[499], table.SigmaAt(499));
        float middle = table.SigmaAt(499.25);
        Assert.Equal(table.Sigmas[499] + 0.25 * (table.Sigmas[500] - table.Sigmas[499]), middle, 1e-6);
        Assert.Equal(table.Sigmas[0], table.SigmaAt(-3));
        Assert.Equal(table.Sigmas[999], table.SigmaAt(1200));
    }

    [Fact]
    public void LinearScheduleAndTrainedBetasAreSupported()
    {
        var linear = new NoiseTable(new SchedulerConfig { BetaSchedule = "linear", BetaStart = 0.0001, BetaEnd = 0.02, NumTrainTimesteps = 1000 });
        Assert.Equal(0.0001f, linear.Betas[0]);
        Assert.Equal(0.02f, linear.Betas[999]);
        Assert.Equal(0.0001f + (0.02f - 0.0001f) / 999 * 10, linear.Betas[10], 1e-9f);

        var trained = new NoiseTable(new SchedulerConfig { NumTrainTimesteps = 3, TrainedBetas = [0.1, 0.2, 0.3] });
        Assert.Equal(0.9f * 0.8f * 0.7f, trained.AlphasCumprod[2], 1e-7f);
        Assert.Equal(MathF.Sqrt(0.1f / 0.9f), trained.Sigmas[0], 1e-7f);
    }

    [Fact]
    public void UnsupportedBetaScheduleAndMismatchedTrainedBetasAreRejected()
    {
        var ex = Assert.Throws<TurboGenException>(() => new NoiseTable(new SchedulerConfig { BetaSchedule = "squaredcos_cap_v2" }));
        Assert.Contains("squaredcos_cap_v2", ex.Message);
        Assert.Contains("scaled_linear", ex.Message);

        ex = Assert.Throws<TurboGenException>(() => new NoiseTable(new SchedulerConfig { NumTrainTimesteps = 4, TrainedBetas = [0.1, 0.2] }));
        Assert.Contains("trained_betas", ex.Message);
    }
}

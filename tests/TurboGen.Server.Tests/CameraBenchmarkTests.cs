using TurboGen.Cli.Realtime;

namespace TurboGen.Server.Tests;

/// <summary><c>turbogen bench --realtime</c>'s camera mode: a synthetic camera, the similarity filter, one frame in flight.</summary>
public sealed class CameraBenchmarkTests
{
    [Fact]
    public void TheSyntheticCamera_MovesForTwoSecondsThenStaysStillForOne_AndTheFilterSeesIt()
    {
        byte[] Thumb(double s) => CameraBenchmark.Thumbnail(CameraBenchmark.Scene(64, 48, s));
        Assert.Equal(32 * 24, Thumb(0).Length);
        Assert.True(CameraBenchmark.Difference(Thumb(0.5), Thumb(0.9)) > 0.02, "moving");
        Assert.Equal(0, CameraBenchmark.Difference(Thumb(2.1), Thumb(2.9)));
        Assert.Equal(0, CameraBenchmark.Difference(Thumb(2.5), Thumb(3.0)));
        Assert.True(CameraBenchmark.Difference(Thumb(3.0), Thumb(3.5)) > 0.02, "moving again");
    }

    [Fact]
    public async Task CameraMode_SendsOneFrameAtATime_SkipsStillFrames_AndCountsPictures()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) });
        var result = await CameraBenchmark.RunAsync(new CameraBenchmarkOptions
        {
            Server = server.BaseAddress, Width = 64, Height = 64, Duration = TimeSpan.FromSeconds(3.5),
        });
        Assert.True(result.CameraFrames >= 20, result.Summary());
        Assert.True(result.Skipped >= 5, result.Summary());
        Assert.True(result.Sent >= 2 && result.Sent <= result.CameraFrames - result.Skipped, result.Summary());
        Assert.InRange(result.Pictures, result.Sent - 1, result.Sent);
        Assert.True(result.PicturesPerSecond > 0 && result.MedianLatencyMs > 0 && result.P90LatencyMs >= result.MedianLatencyMs, result.Summary());
        Assert.Contains("pictures", result.Summary());
    }
}

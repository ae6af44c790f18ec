using static TurboGen.Server.Tests.RealtimeTestKit;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>The live web app's session through a gateway: frames, the refine (a decode job of the live frame's latents) and latest-wins.</summary>
public sealed class QueueRealtimeTests
{
    [Fact]
    public async Task LiveSession_ThroughTheQueue_GetsLiveAndRefinedFrames_AndTheLatestRequestWins()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await kit.StartWorkerAsync();
        await kit.StartWorkerAsync();
        var gateway = await kit.StartGatewayAsync();
        await using var client = await gateway.ConnectAsync();
        var hello = await client.NextTextAsync("hello");
        Assert.Equal("ready", hello.Text!.Value.GetProperty("state").GetString());

        await client.SendAsync(Generate(1, "a red fox", seed: 11));
        var live = await client.NextFrameAsync();
        Assert.Equal(("live", 1L, 11L), (live.Frame!.Kind, live.Frame.RequestId, live.Frame.Seed));
        var refined = await client.NextFrameAsync(); // the full VAE decodes the live frame's latents on a worker
        Assert.Equal(("refined", 1L), (refined.Frame!.Kind, refined.Frame.RequestId));
        Assert.NotEqual(live.Image, refined.Image);

        for (int id = 2; id <= 12; id++) await client.SendAsync(Generate(id, $"a red fox {id}", seed: id));
        var last = await client.NextFrameAsync(h => h.RequestId == 12 && h.Kind == "live");
        Assert.Equal(12, last.Frame!.Seed);
    }
}

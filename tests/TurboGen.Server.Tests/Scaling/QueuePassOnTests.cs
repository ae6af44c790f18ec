using System.Text.Json;
using StackExchange.Redis;
using TurboGen.Server.Scaling;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>
/// A ControlNet job the gateway sent to the one worker that had the ControlNet, whose heartbeat then stopped before it read the
/// job: the plain worker that adopts the dead worker's stream cannot run it, so it passes it on to a live worker that has the
/// ControlNet, or, when none has, answers with the gateway's own refusal (422 naming the ControlNet and the dead worker) — never
/// the misleading "no ControlNets loaded" of running it where the ControlNet is missing. The dead worker is a stand-in ("ghost")
/// that beats with a real ControlNet worker's listing and never reads its stream, so the job is known to wait there.
/// </summary>
public sealed class QueuePassOnTests
{
    private const string ControlNet = "tiny/controlnet-canny-sdxl", Model = "tiny/SdxlTurbo", Ghost = "ghost";

    private static ServerOptions WithControlNet(ServerOptions o) => o with
    {
        ModelPath = TinyModels.GetControlled(TinyFamily.SdxlTurbo),
        ControlNets = [new(ControlNet, TinyControlNets.Get(TinyFamily.SdxlTurbo))],
    };

    /// <summary>A worker with the ControlNet that never scans other workers' streams (its first scan is an hour after start), so only the plain worker adopts.</summary>
    private static QueueWorkerSettings NoAdoption(string id) => new() { WorkerId = id, RenewInterval = TimeSpan.FromHours(1) };

    private static string TxtToImg()
    {
        var pixels = new byte[64 * 64 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 192 < 96 ? 230 : 20);
        string image = Convert.ToBase64String(Imaging.ImageCodec.EncodePng(new Imaging.RgbImage(64, 64, pixels)));
        string unit = $$"""{"enabled": true, "image": "{{image}}", "module": "none", "model": "{{ControlNet}}"}""";
        return """{"prompt": "a cat", "width": 64, "height": 64, "seed": 5, "alwayson_scripts": {"controlnet": {"args": [""" + unit + "]}}}";
    }

    [Fact]
    public async Task ADeadWorkersControlNetJob_IsPassedOnToALiveWorkerThatHasIt_OrRefusedWhenNoneHas()
    {
        await using var kit = await QueueTestKit.StartAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{kit.Redis.Port}");
        var db = redis.GetDatabase();

        // The listing of a real worker with the ControlNet, then that worker gone.
        int lister = await kit.StartWorkerAsync(NoAdoption("lister"), WithControlNet);
        await QueueTests.WaitForAsync(async () => await db.KeyExistsAsync(QueueAddress.Worker("lister")));
        string listing = (await db.StringGetAsync(QueueAddress.Worker("lister"))).ToString();
        await kit.StopWorkerAsync(lister);
        var ghost = JsonSerializer.Deserialize<WorkerInfo>(listing)! with { Id = Ghost, Busy = false };
        Assert.Equal(ControlNet, Assert.Single(ghost.ControlNets!).Name);
        // The ghost registers as a worker does (its stream's consumer group, the set the others adopt from) and beats until killed.
        async Task<Func<Task>> StartGhostAsync()
        {
            await WorkerDirectory.BeatAsync(db, ghost); // alive first, so no worker deletes its (empty) stream meanwhile
            try { await db.StreamCreateConsumerGroupAsync(QueueAddress.WorkerJobs(Model, Ghost), QueueAddress.Group, "0", createStream: true); }
            catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal)) { }
            await db.SetAddAsync(QueueAddress.WorkerStreams(Model), Ghost);
            var beating = new CancellationTokenSource();
            var beats = Task.Run(async () =>
            {
                while (!beating.IsCancellationRequested)
                {
                    await WorkerDirectory.BeatAsync(db, ghost);
                    try { await Task.Delay(500, beating.Token); } catch (OperationCanceledException) { }
                }
            });
            return async () =>
            {
                await beating.CancelAsync();
                await beats;
                beating.Dispose();
                await db.KeyDeleteAsync(QueueAddress.Worker(Ghost));
            };
        }
        TestServer? gateway = null;
        var gatewayListsGhost = () => gateway!.Host.Gateway!.Snapshot.Workers.Any(w => w.Id == Ghost) && gateway.Host.ControlNets.All.Any(c => c.Name == ControlNet);
        var timeout = TimeSpan.FromSeconds(90);
        var kill = await StartGhostAsync();

        await kit.StartWorkerAsync(); // plain: adopts the ghost's stream once its heartbeat is gone
        gateway = await kit.StartGatewayAsync();
        await QueueTests.WaitForAsync(gatewayListsGhost, timeout);
        var refused = PostJsonAsync(gateway.Http, "/sdapi/v1/txt2img", TxtToImg());
        await QueueTests.WaitForAsync(async () => await db.StreamLengthAsync(QueueAddress.WorkerJobs(Model, Ghost)) == 1, timeout);

        // The ghost dies with the job unread, and no live worker has the ControlNet: refused as the gateway refuses.
        await kill();
        var (status, body, _) = await refused.WaitAsync(timeout);
        Assert.True(status == 422, body.ToString());
        string message = body.GetProperty("errors").GetString()!; // A1111's validation error shape, the field in detail[0].loc
        Assert.Equal("controlnet", body.GetProperty("detail")[0].GetProperty("loc")[1].GetString());
        Assert.Contains($"No live worker has controlnet '{ControlNet}' loaded", message, StringComparison.Ordinal);
        Assert.Contains(Ghost, message, StringComparison.Ordinal);
        lock (kit.Log) Assert.Contains(kit.Log, l => l.Contains("which no live worker has: refused", StringComparison.Ordinal));

        // Again, with a live worker that has the ControlNet (and never adopts): the plain worker passes the job on to it.
        kill = await StartGhostAsync();
        await QueueTests.WaitForAsync(gatewayListsGhost, timeout);
        var passed = PostJsonAsync(gateway.Http, "/sdapi/v1/txt2img", TxtToImg());
        await QueueTests.WaitForAsync(async () => await db.StreamLengthAsync(QueueAddress.WorkerJobs(Model, Ghost)) == 1, timeout);
        await kit.StartWorkerAsync(NoAdoption("keeper"), WithControlNet);
        await kill();
        (status, body, _) = await passed.WaitAsync(timeout);
        Assert.True(status == 200, body.ToString() + string.Join("\n", kit.Log));
        lock (kit.Log) Assert.Contains(kit.Log, l => l.Contains("on to worker keeper", StringComparison.Ordinal));
        await QueueTests.WaitForAsync(() => gateway.Host.Gateway!.Snapshot.Workers.SingleOrDefault(w => w.Id == "keeper")?.Jobs == 1, timeout);
    }
}

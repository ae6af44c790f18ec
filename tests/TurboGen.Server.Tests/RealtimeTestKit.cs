using Microsoft.Extensions.DependencyInjection;
using TurboGen.Cli.Realtime;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Realtime;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Server.Tests;

/// <summary>Helpers for the real-time tests: the worker and sessions of a test server, and a gate that holds the model worker.</summary>
internal static class RealtimeTestKit
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Server options with the pause before a refine set to <paramref name="delay"/>.</summary>
    public static Func<ServerOptions, ServerOptions> Refine(TimeSpan delay) => o => o with { RefineDelay = delay };

    /// <summary>Server options whose refine never comes by itself within a test (only Enter or a keep refines).</summary>
    public static readonly Func<ServerOptions, ServerOptions> NoAutoRefine = Refine(TimeSpan.FromHours(1));

    public static GenerationWorker Worker(this TestServer server) => (GenerationWorker)server.Host.Service!;

    public static RealtimeSessions Sessions(this TestServer server) => server.App.Services.GetRequiredService<RealtimeSessions>();

    public static int UnetRuns(this TestServer server) => server.Worker().Pipeline.Model.Unet.RunCount;

    public static Task<RealtimeClient> ConnectAsync(this TestServer server) => RealtimeClient.ConnectAsync(server.BaseAddress);

    /// <summary>A small text-to-image request message (64×64, 1 step).</summary>
    public static ClientMessage Generate(long id, string prompt, long seed = 7, bool live = true, bool refine = false, int size = 64, string? image = null, string? style = null) =>
        new() { Type = "generate", RequestId = id, Prompt = prompt, Seed = seed, Steps = 1, Width = size, Height = size, Live = live, Refine = refine, Image = image, Style = style };

    public static Task<RealtimeMessage> NextFrameAsync(this RealtimeClient client, Func<FrameHeader, bool>? match = null) =>
        client.WaitForAsync(m => m.Frame is { } f && (match?.Invoke(f) ?? true), Timeout);

    public static Task<RealtimeMessage> NextTextAsync(this RealtimeClient client, string type) =>
        client.WaitForAsync(m => m.Type == type, Timeout);

    /// <summary>Waits until a condition holds (polling), failing the test after the timeout.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for: " + what);
            await Task.Delay(10);
        }
    }
}

/// <summary>
/// Holds the model worker: submits a job under its own session whose first progress event (raised on the worker thread
/// by the job handle) blocks until <see cref="Release"/>, so tests can queue work deterministically behind it.
/// </summary>
internal sealed class WorkerGate : IDisposable
{
    private readonly ManualResetEventSlim _started = new(), _release = new();

    private WorkerGate(IGenerationService service, string session)
    {
        Job = service.Submit(session, new GenerationRequest { Prompt = "gate", Seed = 1, Width = 64, Height = 64 }, CancellationToken.None,
            (_, _) => Hold()).Result;
    }

    public Task<GenerationResult> Job { get; }

    /// <summary>Starts a gate job and returns once the worker is blocked inside it.</summary>
    public static async Task<WorkerGate> CloseAsync(IGenerationService service, string session = "gate")
    {
        var gate = new WorkerGate(service, session);
        await Task.Run(() => gate._started.Wait(RealtimeTestKit.Timeout));
        Assert.True(gate._started.IsSet, "the gate job did not start");
        return gate;
    }

    private void Hold()
    {
        if (_started.IsSet) return;
        _started.Set();
        _release.Wait(RealtimeTestKit.Timeout);
    }

    public void Release() => _release.Set();

    public void Dispose()
    {
        _release.Set();
        _started.Dispose();
        // _release is left to the finalizer: the worker thread may still be leaving Wait.
    }
}

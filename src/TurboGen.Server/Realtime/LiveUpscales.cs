using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;
using TurboGen.Upscaling;

namespace TurboGen.Server.Realtime;

/// <summary>
/// One checked "upscale" message: the image enlarged by <c>scale</c> (1–4, default 2) with <c>upscaler</c> (default: the
/// server's), kept in the client's history with <c>keep</c>. The limits are <c>/api/upscale</c>'s (<see cref="UpscaleLimits"/>,
/// <see cref="InputImages"/>), and errors name the same fields.
/// </summary>
public sealed record LiveUpscaleRequest(long RequestId, RgbImage Image, IUpscaler Upscaler, int Width, int Height, bool Keep)
{
    /// <summary>The message type.</summary>
    public const string Type = "upscale";

    /// <summary>Checks <paramref name="m"/> (cheap fields first, the image decoded last).</summary>
    public static LiveUpscaleRequest Parse(ClientMessage m, UpscalerSet upscalers)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(upscalers);
        long requestId = LiveRequestParser.RequestId(m);
        var upscaler = upscalers.Resolve(m.Upscaler, "upscaler");
        if (m.Image is not { Length: > 0 }) throw new InvalidRequestException("image", "image is required: the picture to upscale (base64 or a data URL).");
        var image = InputImages.FromBase64("image", m.Image);
        var (width, height) = UpscaleLimits.Target(image.Width, image.Height, m.Scale ?? 2, "image", "scale");
        return new LiveUpscaleRequest(requestId, image, upscaler, width, height, m.Keep ?? false);
    }
}

/// <summary>
/// A live session's upscales: one at a time (a newer one cancels the running one, which then answers nothing), queued
/// under their own fair-queue key beside the session's pictures (outside its <see cref="LiveFramePolicy{TShown}"/>). Each tile of the
/// network is a <see cref="ProgressMessage"/>, in order; the result is one binary frame of kind "upscaled" carrying the
/// PNG (the same metadata as <c>/api/upscale</c>'s), which <c>keep</c> also saves in the client's history. Every failure
/// is one <c>error</c> (or <c>busy</c>) message naming the request.
/// </summary>
internal sealed class LiveUpscales(string sessionKey, WebSocketChannel channel, ModelHost host, OutputWriter output, HistoryOwner owner, TimeProvider clock, ILogger logger)
{
    private readonly Lock _lock = new();
    private CancellationTokenSource? _running;
    private Task _task = Task.CompletedTask;

    /// <summary>Starts <paramref name="request"/>, cancelling the upscale still running.</summary>
    public void Start(LiveUpscaleRequest request, CancellationToken closed)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(closed);
        lock (_lock)
        {
            CancelRunning();
            _running = cts;
            var previous = _task;
            _task = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false); // the cancelled one has let go of the socket and the model
                await RunAsync(request, cts).ConfigureAwait(false);
            });
        }
    }

    /// <summary>Cancels the running upscale and waits for it to end (the session is closing).</summary>
    public async Task StopAsync()
    {
        Task task;
        lock (_lock)
        {
            CancelRunning();
            task = _task;
        }
        await task.ConfigureAwait(false);
    }

    private void CancelRunning()
    {
        try { _running?.Cancel(); } catch (ObjectDisposedException) { /* it has finished */ }
        _running = null;
    }

    private async Task RunAsync(LiveUpscaleRequest r, CancellationTokenSource cts)
    {
        var ct = cts.Token;
        long started = clock.GetTimestamp();
        try
        {
            if (ct.IsCancellationRequested) return;
            if (host.Service is not { } service)
            {
                await SendAsync(new ErrorMessage(r.RequestId, $"The model is {host.State}: upscale once it is ready.", null), RealtimeJson.Default.ErrorMessage, ct).ConfigureAwait(false);
                return;
            }
            var tiles = Channel.CreateUnbounded<GenerationProgress>(new UnboundedChannelOptions { SingleReader = true });
            var job = service.SubmitUpscale(sessionKey + ".upscale", r.Image, r.Upscaler, r.Width, r.Height, ct,
                observer: (_, p) => { if (p.Stage == GenerationWorker.UpscaleTileStage) tiles.Writer.TryWrite(p); });
            _ = job.Result.ContinueWith(_ => tiles.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await foreach (var p in tiles.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                await SendAsync(new ProgressMessage(r.RequestId, LiveUpscaleRequest.Type, p.Step, p.TotalSteps), RealtimeJson.Default.ProgressMessage, ct).ConfigureAwait(false);
            }
            var image = await job.Result.ConfigureAwait(false);
            var record = new UpscaleRecord(r.Upscaler.Name, image.Width, image.Height, r.Image.Width, r.Image.Height, Refined: false);
            var metadata = UpscaleMetadata.For(record, refinePrompt: null);
            var frame = FrameEncoder.Upscaled(r.RequestId, image, record, metadata, job.QueueTime?.TotalMilliseconds ?? 0, (job.FinishedAt - job.StartedAt)?.TotalMilliseconds ?? 0);
            if (r.Keep) frame = await KeepAsync(frame, r.RequestId, ct).ConfigureAwait(false);
            await channel.SendAsync(FrameEncoder.Message(frame, r.RequestId, clock.GetElapsedTime(started).TotalMilliseconds), WebSocketMessageType.Binary, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && (ct.IsCancellationRequested || channel.State != WebSocketState.Open))
        {
            // Superseded by a newer upscale, or the client went away.
        }
        catch (ServerBusyException e)
        {
            await TrySendAsync(new BusyMessage(r.RequestId, (long)e.RetryAfter.TotalMilliseconds, e.Message), RealtimeJson.Default.BusyMessage, ct).ConfigureAwait(false);
        }
        catch (TurboGenException e)
        {
            await TrySendAsync(new ErrorMessage(r.RequestId, e.Message, (e as InvalidRequestException)?.Parameter), RealtimeJson.Default.ErrorMessage, ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Real-time session {Key} failed an upscale", sessionKey);
            await TrySendAsync(new ErrorMessage(r.RequestId, "Internal error: " + e.Message, null), RealtimeJson.Default.ErrorMessage, ct).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                if (_running == cts) _running = null;
            }
            cts.Dispose();
        }
    }

    /// <summary>Saves the frame's PNG (with its metadata) in the client's history and names it in the frame; a failed save is an error naming <c>keep</c> and an unnamed frame.</summary>
    private async Task<Frame> KeepAsync(Frame frame, long requestId, CancellationToken ct)
    {
        var saving = clock.GetTimestamp();
        try
        {
            string file = await Task.Run(() => output.SavePng(frame.Image, 0, owner), ct).ConfigureAwait(false);
            return FrameEncoder.Kept(frame, file, clock.GetElapsedTime(saving).TotalMilliseconds);
        }
        catch (OutputWriteException e)
        {
            logger.LogWarning("Session {Key}: an upscaled image could not be kept: {Message}", sessionKey, e.Message);
            await SendAsync(new ErrorMessage(requestId, e.Message, "keep"), RealtimeJson.Default.ErrorMessage, ct).ConfigureAwait(false);
            return frame;
        }
    }

    private Task SendAsync<T>(T message, JsonTypeInfo<T> type, CancellationToken ct) =>
        channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, type), WebSocketMessageType.Text, ct);

    private async Task TrySendAsync<T>(T message, JsonTypeInfo<T> type, CancellationToken ct)
    {
        try { await SendAsync(message, type, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { /* the client went away */ }
    }
}

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

namespace TurboGen.Server.Realtime;

/// <summary>
/// One WebSocket = one session. The receive loop parses each client message once (<see cref="LiveRequestParser"/>) and
/// hands it to the session's <see cref="LiveFramePolicy{TShown}"/> (latest wins); the processing loop asks the policy what
/// to do next, submits at most one job at a time to the shared <see cref="IGenerationService"/>, and sends the frames
/// (<see cref="FrameEncoder"/>). A refine decodes the shown frame's latents with the full VAE (no UNet run) and sends the
/// refined frame; a keep also saves it as a PNG in the client's history (<see cref="OutputWriter"/>, <see cref="HistoryOwner"/>).
/// "upscale" messages run beside the pictures (<see cref="LiveUpscales"/>). Disconnecting cancels everything and drops the session's state.
/// </summary>
internal sealed class RealtimeSession
{
    private readonly WebSocketChannel _channel;
    private readonly HistoryOwner _owner;
    private readonly ModelHost _host;
    private readonly ServerOptions _options;
    private readonly StylePresets _styles;
    private readonly OutputWriter _output;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closed;
    private readonly LiveFramePolicy<ShownFrame> _policy;
    private readonly LiveInputs _inputs = new();
    private readonly LiveUpscales _upscales;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _lastRequestId = -1;
    private string? _worker;

    public RealtimeSession(string id, WebSocketChannel channel, HistoryOwner owner, CancellationToken aborted, ModelHost host, ServerOptions options, ServerMetrics metrics,
        StylePresets styles, OutputWriter output, TimeProvider clock, ILogger<RealtimeSession> logger)
    {
        Id = id;
        _channel = channel;
        _owner = owner;
        _host = host;
        _options = options;
        _styles = styles;
        _output = output;
        _clock = clock;
        _logger = logger;
        _closed = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        _policy = new LiveFramePolicy<ShownFrame>(options.RefineDelay, clock, metrics.FrameDropped);
        _upscales = new LiveUpscales(id, channel, host, output, owner, clock, logger);
    }

    public string Id { get; }

    /// <summary>Runs until the client disconnects or the server stops.</summary>
    public async Task RunAsync()
    {
        var processing = Task.Run(ProcessLoopAsync);
        try
        {
            var service = _host.Service;
            await SendAsync(new HelloMessage(Id, _host.State, service?.Model.Id, service?.Model.HasTinyVae, service?.Model.HasVaeEncoder,
                service?.Model.DefaultSize, RequestLimits.MaxLiveSteps, _options.RefineDelay.TotalMilliseconds,
                Math.Max(0, _options.History.MaxImagesPerHistory), Math.Max(0, _options.History.MaxBytesPerHistory)), RealtimeJson.Default.HelloMessage).ConfigureAwait(false);
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            try { await processing.ConfigureAwait(false); } catch (Exception e) { _logger.LogDebug(e, "Session {Id} processing ended", Id); }
            await _upscales.StopAsync().ConfigureAwait(false);
            _policy.Clear();
            await _channel.CloseAsync("bye").ConfigureAwait(false);
            _closed.Dispose();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        while (_channel.State == WebSocketState.Open)
        {
            var message = await _channel.ReceiveAsync(_closed.Token).ConfigureAwait(false);
            if (message.IsClose) return;
            if (message.TooLarge || message.Type == WebSocketMessageType.Binary)
            {
                await SendErrorAsync(null, message.TooLarge ? $"The message is larger than {RequestLimits.MaxMessageBytes} bytes." : "Send requests as JSON text messages.", "message").ConfigureAwait(false);
                continue;
            }
            LiveRequest request;
            try
            {
                var m = LiveRequestParser.Read(message.Data.Span);
                if (m.Type == LiveUpscaleRequest.Type)
                {
                    var upscale = LiveUpscaleRequest.Parse(m, _host.Upscalers);
                    NextRequestId(upscale.RequestId);
                    _upscales.Start(upscale, _closed.Token);
                    continue;
                }
                request = LiveRequestParser.Parse(m, _host.Service?.Model.DefaultSize ?? 512, _styles, _inputs, _host.ControlNets,
                    guidanceEmbedding: _host.Service?.Model.GuidanceEmbedding ?? false);
                NextRequestId(request.RequestId);
            }
            catch (InvalidRequestException e)
            {
                await SendErrorAsync(LiveRequestParser.TryReadRequestId(message.Data.Span), e.Message, e.Parameter).ConfigureAwait(false);
                continue;
            }
            _policy.Accept(request);
            _wake.Writer.TryWrite(true);
        }
    }

    private void NextRequestId(long requestId)
    {
        if (requestId <= _lastRequestId)
            throw new InvalidRequestException("requestId", $"requestId must increase (got {requestId} after {_lastRequestId}).");
        _lastRequestId = requestId;
    }

    private async Task ProcessLoopAsync()
    {
        var ct = _closed.Token;
        while (!ct.IsCancellationRequested)
        {
            var action = _policy.Next();
            try
            {
                switch (action.Kind)
                {
                    case LiveActionKind.Run when action.Wanted!.Request.Kind == LiveRequestKind.Variants:
                        await VariantsAsync(await WaitForModelAsync(ct).ConfigureAwait(false), action.Wanted).ConfigureAwait(false);
                        break;
                    case LiveActionKind.Run:
                        await GenerateAsync(await WaitForModelAsync(ct).ConfigureAwait(false), action.Wanted!).ConfigureAwait(false);
                        break;
                    case LiveActionKind.Refine:
                        var shown = action.Shown!;
                        // Tagged with the newest request answered by this picture: the client ignores frames older than the one it shows.
                        await RefineAsync(await WaitForModelAsync(ct).ConfigureAwait(false), shown, new Wanted(shown.Payload.LastAsked, _clock.GetTimestamp()), keep: false).ConfigureAwait(false);
                        break;
                    default:
                        await WaitForWakeAsync(action.Wait, ct).ConfigureAwait(false);
                        break;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (WebSocketException)
            {
                return;
            }
            catch (Exception e)
            {
                // Reported once; the policy never retries a failed action by itself (a refine stays taken).
                _logger.LogError(e, "Real-time session {Id} failed a request", Id);
                await SendErrorAsync(action.Wanted?.Request.RequestId ?? action.Shown?.Payload.LastAsked.RequestId, "Internal error: " + e.Message, null).ConfigureAwait(false);
            }
        }
    }

    private async Task WaitForWakeAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        try
        {
            await _wake.Reader.WaitToReadAsync(cts.Token).ConfigureAwait(false);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The refine delay elapsed.
        }
    }

    private async Task<IGenerationService> WaitForModelAsync(CancellationToken ct)
    {
        bool told = false;
        while (true)
        {
            if (_host.Service is { } service)
            {
                if (told) await SendAsync(new StatusMessage("ready", null), RealtimeJson.Default.StatusMessage).ConfigureAwait(false);
                return service;
            }
            if (!told)
            {
                await SendAsync(new StatusMessage(_host.State, _host.Error), RealtimeJson.Default.StatusMessage).ConfigureAwait(false);
                told = true;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _clock, ct).ConfigureAwait(false);
        }
    }

    private async Task GenerateAsync(IGenerationService service, Wanted wanted)
    {
        var r = wanted.Request;
        if (_policy.ShownFor(r.Key) is { } shown)
        {
            // The picture asked for is on screen already: answer without running the model again.
            shown.Payload.LastAsked = r;
            if (r.Refine || !r.Live)
            {
                await RefineAsync(service, shown, wanted, r.Keep).ConfigureAwait(false);
            }
            else
            {
                await SendFrameAsync(shown.Payload.LiveFrame, wanted).ConfigureAwait(false);
                if (shown.Payload.RefinedFrame is null) _policy.Rearm(shown);
            }
            return;
        }

        // Inpainting pastes the picture outside the mask back after decoding: its frames are decoded in full (a refine would skip the paste).
        bool tiny = r.Live && service.Model.HasTinyVae && r.Generation.Mask is null;
        var (result, queueMs, worker) = await RunAsync(LiveRunKind.Generate, r.RequestId, ct => service.Submit(Id, r.Generation with { UseTinyVae = tiny }, ct)).ConfigureAwait(false);
        if (result is null) return;
        _policy.JobTime(result.Timings.TotalMilliseconds);
        var live = RanOn(FrameEncoder.Build(r, result, 0, FrameKinds.Live, queueMs), worker);
        var next = _policy.Show(r.Key, new ShownFrame(r, result, live, tiny ? null : result.Images[0]));
        if (r.Live) await SendFrameAsync(live, wanted).ConfigureAwait(false);
        if (r.Refine || !r.Live) await RefineAsync(service, next, wanted, r.Keep).ConfigureAwait(false);
    }

    /// <summary>
    /// Decodes the shown frame's latents with the full VAE (once: unless it already was) and sends the refined frame;
    /// with <paramref name="keep"/>, first saves it in the client's history (once per picture) and names the file.
    /// </summary>
    private async Task RefineAsync(IGenerationService service, ShownPicture<ShownFrame> shown, Wanted wanted, bool keep)
    {
        var payload = shown.Payload;
        if (payload.RefinedFrame is null)
        {
            _policy.TakeRefine(shown);
            var stages = new Dictionary<string, double>();
            var clock = _clock.GetTimestamp();
            RgbImage? image = payload.FullImage;
            string? refinedOn = null;
            if (image is null)
            {
                var (images, _, worker) = await RunAsync(LiveRunKind.Refine, wanted.Request.RequestId,
                    ct => service.SubmitDecode(Id, payload.Result.Latents, tinyVae: false, ct), retryAfter => _policy.RefineBusy(shown, retryAfter)).ConfigureAwait(false);
                if (images is null) return;
                image = images[0];
                refinedOn = worker;
                stages["decode.vae"] = _clock.GetElapsedTime(clock).TotalMilliseconds;
            }
            payload.RefinedImage = image;
            payload.RefinedFrame = FrameEncoder.Refined(payload.LiveFrame, image, stages);
            if (refinedOn is not null) payload.RefinedFrame = RanOn(payload.RefinedFrame, refinedOn);
            _policy.RefineDone(shown);
        }
        Frame? frame = payload.RefinedFrame;
        // A failed save is not remembered: pressing Keep again tries again (nothing retries by itself).
        if (keep) frame = payload.KeptFrame ??= await KeepAsync(service, payload, wanted.Request.RequestId).ConfigureAwait(false);
        await SendFrameAsync(frame ?? payload.RefinedFrame, wanted).ConfigureAwait(false);
    }

    /// <summary>Saves the refined picture in the client's history; a failed save is reported once (field <c>keep</c>) and gives null.</summary>
    private async Task<Frame?> KeepAsync(IGenerationService service, ShownFrame payload, long requestId)
    {
        var result = payload.Result with { Images = [payload.RefinedImage!], Request = payload.Result.Request with { UseTinyVae = false } };
        var saving = _clock.GetTimestamp();
        try
        {
            string file = await Task.Run(() => _output.Save(result, 0, service.Model.Id, _owner)).ConfigureAwait(false);
            return FrameEncoder.Kept(payload.RefinedFrame!, file, _clock.GetElapsedTime(saving).TotalMilliseconds);
        }
        catch (OutputWriteException e)
        {
            _logger.LogWarning("Session {Id}: a kept image could not be saved: {Message}", Id, e.Message);
            await SendErrorAsync(requestId, e.Message, "keep").ConfigureAwait(false);
            return null;
        }
    }

    private async Task VariantsAsync(IGenerationService service, Wanted wanted)
    {
        var r = wanted.Request;
        var (result, queueMs, worker) = await RunAsync(LiveRunKind.Variants, r.RequestId,
            ct => service.Submit(Id, r.Generation with { UseTinyVae = service.Model.HasTinyVae }, ct)).ConfigureAwait(false);
        if (result is null) return;
        for (int i = 0; i < result.Images.Count; i++)
        {
            await SendFrameAsync(RanOn(FrameEncoder.Build(r, result, i, FrameKinds.Variant, queueMs), worker), wanted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Submits one job as the session's running job and awaits it. Returns null (after telling the client where useful)
    /// when it was superseded, rejected as busy, or failed on bad input; the queue time comes from the job handle.
    /// </summary>
    private async Task<(T? Result, double QueueMs, string? Worker)> RunAsync<T>(LiveRunKind kind, long requestId, Func<CancellationToken, GenerationJob<T>> submit,
        Action<TimeSpan>? onBusy = null) where T : class
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        var run = _policy.BeginRun(kind, cts);
        if (run is null) return (null, 0, null);
        bool cancelled = false;
        try
        {
            var job = submit(cts.Token);
            _ = job.Started.ContinueWith(_ => _policy.RunStarted(run), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            var result = await job.Result.ConfigureAwait(false);
            return (result, job.QueueTime?.TotalMilliseconds ?? 0, job.Worker);
        }
        catch (OperationCanceledException) when (!_closed.IsCancellationRequested)
        {
            cancelled = true;
            return (null, 0, null);
        }
        catch (ServerBusyException e)
        {
            if (onBusy is not null) onBusy(e.RetryAfter);
            else await SendAsync(new BusyMessage(requestId, (long)e.RetryAfter.TotalMilliseconds, e.Message), RealtimeJson.Default.BusyMessage).ConfigureAwait(false);
            return (null, 0, null);
        }
        catch (TurboGenException e)
        {
            await SendErrorAsync(requestId, e.Message, (e as InvalidRequestException)?.Parameter).ConfigureAwait(false);
            return (null, 0, null);
        }
        finally
        {
            _policy.EndRun(run, cancelled);
        }
    }

    /// <summary>
    /// Names the queue worker that made <paramref name="frame"/> (<c>serve --queue</c>; null in one process) and, when it is
    /// not the worker of the session's previous frame (that one died or left: the session failed over), the previous one.
    /// </summary>
    private Frame RanOn(Frame frame, string? worker)
    {
        if (worker is null) return frame;
        string? previous = Interlocked.Exchange(ref _worker, worker);
        if (previous is not null && previous != worker)
            _logger.LogInformation("Session {Id}: frames now come from worker {Worker} (was {Previous})", Id, worker, previous);
        return frame with { Header = frame.Header with { Worker = worker, PreviousWorker = previous != worker ? previous : null } };
    }

    private async Task SendFrameAsync(Frame frame, Wanted wanted)
    {
        if (frame.Header.Kind != FrameKinds.Variant) _policy.FrameSent();
        byte[] message = FrameEncoder.Message(frame, wanted.Request.RequestId, _clock.GetElapsedTime(wanted.ReceivedAt).TotalMilliseconds);
        await _channel.SendAsync(message, WebSocketMessageType.Binary, _closed.Token).ConfigureAwait(false);
    }

    private Task SendErrorAsync(long? requestId, string message, string? field) =>
        SendAsync(new ErrorMessage(requestId, message, field), RealtimeJson.Default.ErrorMessage);

    private Task SendAsync<T>(T message, JsonTypeInfo<T> type) =>
        _channel.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, type), WebSocketMessageType.Text, _closed.Token);

    /// <summary>The session's picture on screen: its request, result (latents for the refine) and encoded frames.</summary>
    private sealed class ShownFrame(LiveRequest request, GenerationResult result, Frame liveFrame, RgbImage? fullImage)
    {
        public LiveRequest Request { get; } = request;
        public GenerationResult Result { get; } = result;
        public Frame LiveFrame { get; } = liveFrame;

        /// <summary>The newest request this picture answered (asking for the shown picture again answers from it).</summary>
        public LiveRequest LastAsked { get; set; } = request;

        /// <summary>Already decoded with the full VAE (no tiny VAE, or a non-live request).</summary>
        public RgbImage? FullImage { get; } = fullImage;

        /// <summary>The full-VAE picture and its frame, once refined.</summary>
        public RgbImage? RefinedImage { get; set; }
        public Frame? RefinedFrame { get; set; }

        /// <summary>The refined frame naming its kept file, once kept (a picture is saved once however often it is kept).</summary>
        public Frame? KeptFrame { get; set; }
    }
}

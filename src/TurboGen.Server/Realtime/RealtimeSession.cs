using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Realtime;

/// <summary>
/// One WebSocket = one session. A receive loop parses client messages and records only the newest wanted request
/// (latest wins), cancelling the session's job when it has been superseded; a processing loop runs at most one
/// job at a time on the shared <see cref="IGenerationService"/>, sends the frame, and when no new input arrives
/// for <see cref="ServerOptions.RefineDelay"/> decodes the same latents with the full VAE (no UNet run), saves the
/// PNG and sends the refined frame. Disconnecting cancels everything and drops the session's images and latents.
/// <para>Anti-starvation: while typing faster than a job runs, cancelling every superseded job would never show
/// a frame; so a job that has already started is allowed to finish when the last frame sent is older than twice
/// the session's typical job time (the picture keeps following, a little behind).</para>
/// </summary>
internal sealed class RealtimeSession
{
    private readonly WebSocket _socket;
    private readonly RealtimeHub _hub;
    private readonly CancellationTokenSource _closed;
    private readonly object _lock = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ImageCache _images = new();
    private Wanted? _pendingGenerate, _pendingVariants;
    private Running? _running;
    private Shown? _shown;
    private long _lastRequestId = -1;
    private long _lastFrameAt = Stopwatch.GetTimestamp();
    private double _typicalJobMs;

    public RealtimeSession(string id, WebSocket socket, RealtimeHub hub, CancellationToken aborted)
    {
        Id = id;
        _socket = socket;
        _hub = hub;
        _closed = CancellationTokenSource.CreateLinkedTokenSource(aborted);
    }

    public string Id { get; }

    /// <summary>Runs until the client disconnects or the server stops.</summary>
    public async Task RunAsync()
    {
        var processing = Task.Run(ProcessLoopAsync);
        try
        {
            await SendHelloAsync().ConfigureAwait(false);
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            try { await processing.ConfigureAwait(false); } catch (Exception e) { _hub.Logger.LogDebug(e, "Session {Id} processing ended", Id); }
            lock (_lock)
            {
                _pendingGenerate = _pendingVariants = null;
                _shown = null;
            }
            await CloseAsync().ConfigureAwait(false);
            _closed.Dispose();
        }
    }

    // ---------------------------------------------------------------- receiving

    private async Task ReceiveLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var (type, length, tooLarge) = await ReceiveMessageAsync(buffer, b => buffer = b).ConfigureAwait(false);
                if (type == WebSocketMessageType.Close) return;
                if (tooLarge)
                {
                    await SendErrorAsync(null, $"The message is larger than {RealtimeProtocol.MaxMessageBytes} bytes.", "message").ConfigureAwait(false);
                    continue;
                }
                if (type == WebSocketMessageType.Binary)
                {
                    await SendErrorAsync(null, "Send requests as JSON text messages.", "message").ConfigureAwait(false);
                    continue;
                }
                string text = Encoding.UTF8.GetString(buffer, 0, length);
                RealtimeRequest request;
                try
                {
                    request = RealtimeProtocol.Parse(text, _hub.DefaultSize, _hub.Styles, _images);
                    lock (_lock)
                    {
                        if (request.RequestId <= _lastRequestId)
                            throw new InvalidRequestException("requestId", $"requestId must increase (got {request.RequestId} after {_lastRequestId}).");
                        _lastRequestId = request.RequestId;
                    }
                }
                catch (InvalidRequestException e)
                {
                    await SendErrorAsync(TryReadRequestId(text), e.Message, e.Parameter).ConfigureAwait(false);
                    continue;
                }
                Accept(new Wanted(request, Stopwatch.GetTimestamp()));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads one whole message into the (growing, pooled) buffer; oversized messages are drained and flagged.</summary>
    private async Task<(WebSocketMessageType Type, int Length, bool TooLarge)> ReceiveMessageAsync(byte[] buffer, Action<byte[]> replace)
    {
        int length = 0;
        bool tooLarge = false;
        while (true)
        {
            if (length == buffer.Length && !tooLarge)
            {
                if (length >= RealtimeProtocol.MaxMessageBytes)
                {
                    tooLarge = true;
                }
                else
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, RealtimeProtocol.MaxMessageBytes));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                    replace(buffer);
                }
            }
            var segment = tooLarge ? new ArraySegment<byte>(buffer, 0, buffer.Length) : new ArraySegment<byte>(buffer, length, buffer.Length - length);
            var result = await _socket.ReceiveAsync(segment, _closed.Token).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close) return (result.MessageType, 0, false);
            if (!tooLarge)
            {
                length += result.Count;
                tooLarge = length > RealtimeProtocol.MaxMessageBytes;
            }
            if (result.EndOfMessage) return (result.MessageType, length, tooLarge);
        }
    }

    /// <summary>Records the newest wanted request and cancels work it supersedes.</summary>
    private void Accept(Wanted wanted)
    {
        lock (_lock)
        {
            if (wanted.Request.Kind == RealtimeRequestKind.Variants)
            {
                _pendingVariants = wanted;
                if (_running is { Kind: RunKind.Variants } v) v.Cancel();
            }
            else
            {
                if (_pendingGenerate is not null) _hub.Metrics.FrameDropped();
                _pendingGenerate = wanted;
                if (_running is { } run && !(run.Kind == RunKind.Generate && ShouldFinish(run))) run.Cancel();
            }
        }
        _wake.Writer.TryWrite(true);
    }

    /// <summary>A started generate job may finish when the picture has not been updated for a while (see the class doc).</summary>
    private bool ShouldFinish(Running run) =>
        run.WorkerStarted && _typicalJobMs > 0 && Stopwatch.GetElapsedTime(_lastFrameAt).TotalMilliseconds > 2 * _typicalJobMs;

    // ---------------------------------------------------------------- processing

    private async Task ProcessLoopAsync()
    {
        var ct = _closed.Token;
        while (!ct.IsCancellationRequested)
        {
            Wanted? next;
            Shown? refine = null;
            TimeSpan wait = Timeout.InfiniteTimeSpan;
            lock (_lock)
            {
                next = _pendingGenerate ?? _pendingVariants;
                if (next == _pendingGenerate) _pendingGenerate = null;
                else _pendingVariants = null;
                if (next is null && _shown is { Refined: false, RefineAt: var at } shown)
                {
                    wait = at - DateTimeOffset.UtcNow;
                    if (wait <= TimeSpan.Zero) refine = shown;
                }
            }
            try
            {
                if (next is not null)
                {
                    var service = await WaitForModelAsync(ct).ConfigureAwait(false);
                    if (next.Request.Kind == RealtimeRequestKind.Variants) await VariantsAsync(service, next).ConfigureAwait(false);
                    else await GenerateAsync(service, next).ConfigureAwait(false);
                }
                else if (refine is not null)
                {
                    await RefineAsync(await WaitForModelAsync(ct).ConfigureAwait(false), refine, refine.Request.RequestId, Stopwatch.GetTimestamp()).ConfigureAwait(false);
                }
                else
                {
                    await WaitForWakeAsync(wait, ct).ConfigureAwait(false);
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
                _hub.Logger.LogError(e, "Real-time session {Id} failed a request", Id);
                await SendErrorAsync(next?.Request.RequestId, "Internal error: " + e.Message, null).ConfigureAwait(false);
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
            if (_hub.ModelHost.Service is { } service)
            {
                if (told) await SendTextAsync(new { type = "status", state = "ready" }).ConfigureAwait(false);
                return service;
            }
            if (!told)
            {
                await SendTextAsync(new { type = "status", state = _hub.ModelHost.State, error = _hub.ModelHost.Error }).ConfigureAwait(false);
                told = true;
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    private async Task GenerateAsync(IGenerationService service, Wanted wanted)
    {
        var r = wanted.Request;
        Shown? shown;
        lock (_lock) shown = _shown;
        if (shown is not null && shown.Request.Key == r.Key)
        {
            // The picture asked for is on screen already: answer without running the model again.
            if (r.Refine || !r.Live)
            {
                if (shown.Refined) await SendAsync(shown.RefinedFrame!, r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
                else await RefineAsync(service, shown, r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(shown.LiveFrame, r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
                lock (_lock) shown.RefineAt = DateTimeOffset.UtcNow + _hub.Options.RefineDelay;
            }
            return;
        }

        bool tiny = r.Live && service.Model.HasTinyVae;
        var request = RealtimeProtocol.ToGenerationRequest(r, _hub.Styles, tiny);
        var (result, queueMs) = await RunJobAsync(RunKind.Generate, r.RequestId, wanted.ReceivedAt,
            (s, ct, progress) => s.GenerateAsync(Id, request, ct, progress), service).ConfigureAwait(false);
        if (result is null) return;

        var image = result.Images[0];
        var (bytes, encodeMs) = Encode(image, r.Format);
        var modelMs = result.Timings.TotalMilliseconds;
        _typicalJobMs = _typicalJobMs == 0 ? modelMs : 0.7 * _typicalJobMs + 0.3 * modelMs;
        var header = new FrameHeader
        {
            RequestId = r.RequestId, Seed = result.Seeds[0], Width = result.Width, Height = result.Height, Kind = "live", Format = r.Format,
            ImageToImage = r.Image is not null, PromptTruncated = result.PromptTruncated,
            Timings = Timings(result.Timings, queueMs, encodeMs),
        };
        var live = new Frame(header, bytes);
        var next = new Shown(r, result, live, tiny ? null : image) { RefineAt = DateTimeOffset.UtcNow + _hub.Options.RefineDelay };
        lock (_lock) _shown = next;
        if (r.Live) await SendAsync(live, r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
        if (r.Refine || !r.Live) await RefineAsync(service, next, r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
    }

    /// <summary>Decodes the shown frame's latents with the full VAE (unless it already was), saves the PNG and sends it.</summary>
    private async Task RefineAsync(IGenerationService service, Shown shown, long requestId, long receivedAt)
    {
        var clock = Stopwatch.StartNew();
        RgbImage? image = shown.FullImage;
        var stages = new Dictionary<string, double>();
        if (image is null)
        {
            var (images, _) = await RunJobAsync<IReadOnlyList<RgbImage>>(RunKind.Refine, requestId, receivedAt,
                (s, ct, _) => s.DecodeAsync(Id, shown.Result.Latents, tinyVae: false, ct), service, countDropped: false, onBusy: retry =>
                {
                    lock (_lock) shown.RefineAt = DateTimeOffset.UtcNow + retry;
                }).ConfigureAwait(false);
            if (images is null) return;
            image = images[0];
            stages["decode.vae"] = clock.Elapsed.TotalMilliseconds;
        }
        var result = shown.Result with { Request = shown.Result.Request with { UseTinyVae = false } };
        var metadata = GenerationMetadata.For(result, 0, service.Model.Id);
        var saveClock = Stopwatch.StartNew();
        string file = await Task.Run(() => _hub.History.Save(image, metadata, result.Seeds[0])).ConfigureAwait(false);
        stages["save"] = saveClock.Elapsed.TotalMilliseconds;
        var (bytes, encodeMs) = Encode(image, shown.Request.Format);
        var header = shown.LiveFrame.Header with
        {
            Kind = "refined", File = file,
            Timings = new FrameTimings { Stages = stages, ModelMs = stages.GetValueOrDefault("decode.vae"), EncodeMs = encodeMs },
        };
        var frame = new Frame(header, bytes);
        lock (_lock)
        {
            shown.Refined = true;
            shown.RefinedFrame = frame;
        }
        await SendAsync(frame, requestId, receivedAt).ConfigureAwait(false);
    }

    private async Task VariantsAsync(IGenerationService service, Wanted wanted)
    {
        var r = wanted.Request;
        var request = RealtimeProtocol.ToGenerationRequest(r, _hub.Styles, service.Model.HasTinyVae) with
        {
            Seed = r.Seed ?? Random.Shared.NextInt64(0, uint.MaxValue - RealtimeProtocol.MaxVariants),
        };
        var (result, queueMs) = await RunJobAsync(RunKind.Variants, r.RequestId, wanted.ReceivedAt,
            (s, ct, progress) => s.GenerateAsync(Id, request, ct, progress), service, countDropped: false).ConfigureAwait(false);
        if (result is null) return;
        for (int i = 0; i < result.Images.Count; i++)
        {
            var (bytes, encodeMs) = Encode(result.Images[i], r.Format);
            var header = new FrameHeader
            {
                RequestId = r.RequestId, Seed = result.Seeds[i], Width = result.Width, Height = result.Height, Kind = "variant", Index = i,
                Format = r.Format, ImageToImage = r.Image is not null, PromptTruncated = result.PromptTruncated,
                Timings = Timings(result.Timings, queueMs, encodeMs),
            };
            await SendAsync(new Frame(header, bytes), r.RequestId, wanted.ReceivedAt).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Submits one job as the session's running job. Returns null (after telling the client where useful) when it
    /// was superseded, rejected as busy or failed on bad input.
    /// </summary>
    private async Task<(T? Result, double QueueMs)> RunJobAsync<T>(RunKind kind, long requestId, long receivedAt,
        Func<IGenerationService, CancellationToken, IProgress<GenerationProgress>, Task<T>> submit, IGenerationService service,
        bool countDropped = true, Action<TimeSpan>? onBusy = null) where T : class
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        var run = new Running(kind, cts);
        lock (_lock)
        {
            // A newer request may have arrived between taking this one and registering it as running.
            bool superseded = kind == RunKind.Variants ? _pendingVariants is not null : _pendingGenerate is not null;
            if (superseded)
            {
                if (countDropped) _hub.Metrics.FrameDropped();
                return (null, 0);
            }
            _running = run;
        }
        long submitted = Stopwatch.GetTimestamp();
        try
        {
            var result = await submit(service, cts.Token, run).ConfigureAwait(false);
            double queueMs = run.StartedAt is { } started ? Stopwatch.GetElapsedTime(submitted, started).TotalMilliseconds : 0;
            return (result, queueMs);
        }
        catch (OperationCanceledException) when (!_closed.IsCancellationRequested)
        {
            if (countDropped) _hub.Metrics.FrameDropped();
            return (null, 0);
        }
        catch (ServerBusyException e)
        {
            if (onBusy is not null) onBusy(e.RetryAfter);
            else await SendTextAsync(new { type = "busy", requestId, retryAfterMs = (long)e.RetryAfter.TotalMilliseconds, message = e.Message }).ConfigureAwait(false);
            return (null, 0);
        }
        catch (InvalidRequestException e)
        {
            await SendErrorAsync(requestId, e.Message, e.Parameter).ConfigureAwait(false);
            return (null, 0);
        }
        catch (TurboGenException e)
        {
            await SendErrorAsync(requestId, e.Message, null).ConfigureAwait(false);
            return (null, 0);
        }
        finally
        {
            lock (_lock) if (_running == run) _running = null;
        }
    }

    private static FrameTimings Timings(StageTimings timings, double queueMs, double encodeMs) => new()
    {
        Stages = timings.Stages.GroupBy(s => s.Stage).ToDictionary(g => g.Key, g => Math.Round(g.Sum(s => s.Milliseconds), 3)),
        ModelMs = timings.TotalMilliseconds, OnnxMs = timings.OnnxMilliseconds, QueueMs = queueMs, EncodeMs = encodeMs,
    };

    private static (byte[] Bytes, double Ms) Encode(RgbImage image, string format)
    {
        var clock = Stopwatch.StartNew();
        byte[] bytes = format == "webp" ? ImageCodec.EncodeWebp(image, RealtimeProtocol.WebpQuality) : ImageCodec.EncodeJpeg(image, RealtimeProtocol.JpegQuality);
        return (bytes, clock.Elapsed.TotalMilliseconds);
    }

    // ---------------------------------------------------------------- sending

    private async Task SendHelloAsync()
    {
        var service = _hub.ModelHost.Service;
        await SendTextAsync(new
        {
            type = "hello", sessionId = Id, state = _hub.ModelHost.State, model = service?.Model.Id,
            hasTinyVae = service?.Model.HasTinyVae, imageToImage = service?.Model.HasVaeEncoder, defaultSize = service?.Model.DefaultSize,
            maxSteps = RealtimeProtocol.MaxSteps, refineDelayMs = _hub.Options.RefineDelay.TotalMilliseconds,
        }).ConfigureAwait(false);
    }

    private async Task SendAsync(Frame frame, long requestId, long receivedAt)
    {
        var header = frame.Header with { RequestId = requestId, ElapsedMs = Math.Round(Stopwatch.GetElapsedTime(receivedAt).TotalMilliseconds, 3) };
        if (header.Kind != "variant") _lastFrameAt = Stopwatch.GetTimestamp();
        await SendRawAsync(RealtimeProtocol.EncodeFrame(header, frame.Image), WebSocketMessageType.Binary).ConfigureAwait(false);
    }

    private Task SendErrorAsync(long? requestId, string message, string? field) =>
        SendTextAsync(new { type = "error", requestId, message, field });

    private Task SendTextAsync(object message) =>
        SendRawAsync(JsonSerializer.SerializeToUtf8Bytes(message, RealtimeProtocol.Json), WebSocketMessageType.Text);

    private async Task SendRawAsync(byte[] bytes, WebSocketMessageType type)
    {
        if (_socket.State != WebSocketState.Open) return;
        await _sendLock.WaitAsync(_closed.Token).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(bytes, type, endOfMessage: true, _closed.Token).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task CloseAsync()
    {
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Already gone.
        }
    }

    private static long? TryReadRequestId(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("requestId", out var id) && id.TryGetInt64(out long v) ? v : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // ---------------------------------------------------------------- state records

    private sealed record Wanted(RealtimeRequest Request, long ReceivedAt);

    private sealed record Frame(FrameHeader Header, byte[] Image);

    private enum RunKind { Generate, Variants, Refine }

    /// <summary>The session's job on the model worker; also its progress sink (records when the worker started it).</summary>
    private sealed class Running(RunKind kind, CancellationTokenSource cts) : IProgress<GenerationProgress>
    {
        public RunKind Kind { get; } = kind;
        public long? StartedAt { get; private set; }
        public bool WorkerStarted => StartedAt is not null;

        public void Cancel()
        {
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        }

        public void Report(GenerationProgress value) => StartedAt ??= Stopwatch.GetTimestamp();
    }

    /// <summary>The last live frame sent: its request, latents (for the refine) and encoded frames.</summary>
    private sealed class Shown(RealtimeRequest request, GenerationResult result, Frame liveFrame, RgbImage? fullImage)
    {
        public RealtimeRequest Request { get; } = request;
        public GenerationResult Result { get; } = result;
        public Frame LiveFrame { get; } = liveFrame;

        /// <summary>Already decoded with the full VAE (no tiny VAE, or a non-live request).</summary>
        public RgbImage? FullImage { get; } = fullImage;

        public DateTimeOffset RefineAt { get; set; }
        public bool Refined { get; set; }
        public Frame? RefinedFrame { get; set; }
    }
}

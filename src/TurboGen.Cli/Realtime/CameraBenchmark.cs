using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Cli.Realtime;

/// <summary>What <see cref="CameraBenchmark"/> simulates.</summary>
public sealed record CameraBenchmarkOptions : LiveBenchmarkOptions
{
    public string Prompt { get; init; } = "an oil painting of a red ball in a blue room";
    public double Strength { get; init; } = 0.5;

    /// <summary>Frames the synthetic camera delivers per second (the web app captures at 15).</summary>
    public double CameraFps { get; init; } = 15;

    /// <summary>How long the camera runs (after one warm-up picture).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The similarity filter's threshold (mean absolute difference of 32-pixel grey thumbnails, 0–1), as the web app's default.</summary>
    public double Threshold { get; init; } = 0.02;
}

/// <summary>The outcome of a camera session.</summary>
/// <param name="CameraFrames">Frames the synthetic camera delivered.</param>
/// <param name="Skipped">Frames the similarity filter skipped (too close to the last frame sent).</param>
/// <param name="Sent">Frames sent (one at a time: the next only once the previous one is answered, then the newest).</param>
/// <param name="Pictures">Live pictures received.</param>
/// <param name="MedianLatencyMs">From sending a camera frame to its picture.</param>
public sealed record CameraBenchmarkResult(
    int CameraFrames, int Skipped, int Sent, int Pictures, double PicturesPerSecond, double MedianLatencyMs, double P90LatencyMs,
    double MedianModelMs, TimeSpan Duration)
{
    public string Summary() => FormattableString.Invariant(
        $"camera {CameraFrames / Duration.TotalSeconds:F1} fps for {Duration.TotalSeconds:F0} s: {Skipped} still frames skipped, {Sent} sent → {Pictures} pictures ({PicturesPerSecond:F2} fps); frame→picture median {MedianLatencyMs:F0} ms, p90 {P90LatencyMs:F0} ms; model {MedianModelMs:F0} ms/picture");
}

/// <summary>
/// Measures camera mode as the web app runs it (<c>wwwroot/modes/camera.js</c>): a synthetic camera (a ball moving
/// over a blue gradient, still one second in every three) delivers frames at <see cref="CameraBenchmarkOptions.CameraFps"/>;
/// the same similarity filter skips frames that barely differ from the last one sent; frames are sent as
/// image-to-image requests one at a time — the next, always the newest, once the previous is answered — so the
/// picture rate is the model's, without a backlog. Used by <c>turbogen bench --realtime</c>.
/// </summary>
public static class CameraBenchmark
{
    private const int ThumbWidth = 32;

    /// <summary>The in-flight slot is taken by a frame about to be sent (its request id is assigned in SendAsync).</summary>
    private const long Reserved = long.MaxValue;

    public static async Task<CameraBenchmarkResult> RunAsync(CameraBenchmarkOptions options, CancellationToken cancellationToken = default)
    {
        if (!(options.CameraFps > 0)) throw new InvalidRequestException("camera_fps", "The camera frame rate must be positive.");
        await using var client = await RealtimeClient.ConnectAsync(options.Server, options.ApiKey, cancellationToken).ConfigureAwait(false);
        long requestId = 0;
        ClientMessage Request(RgbImage frame) => new()
        {
            RequestId = ++requestId, Prompt = options.Prompt, Seed = options.Seed, Steps = options.Steps, Width = options.Width, Height = options.Height,
            Strength = options.Strength, Live = true, Image = "data:image/jpeg;base64," + Convert.ToBase64String(ImageCodec.EncodeJpeg(frame, 85)),
        };

        // Warm-up: one picture, so first-run costs are not measured.
        await client.SendAsync(Request(Scene(options.Width, options.Height, 0)), cancellationToken).ConfigureAwait(false);
        await client.WaitForAsync(m => m.Type == "error" ? throw new InvalidOperationException("The server answered an error: " + m.Text)
            : m.Frame is { Kind: FrameKinds.Live } f && f.RequestId == requestId, TimeSpan.FromMinutes(2)).ConfigureAwait(false);

        var clock = Stopwatch.StartNew();
        var gate = new Lock();
        long inFlight = 0;
        var sentAt = new Dictionary<long, double>();
        var latencies = new List<double>();
        var models = new List<double>();
        RgbImage? pending = null;
        int frames = 0, skipped = 0, sent = 0;
        byte[]? lastSentThumb = null;

        async Task SendAsync(RgbImage frame)
        {
            var message = Request(frame);
            lock (gate)
            {
                inFlight = message.RequestId!.Value;
                sentAt[inFlight] = clock.Elapsed.TotalMilliseconds;
                sent++;
            }
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var m = await client.ReceiveAsync(stop.Token).ConfigureAwait(false) ?? throw new InvalidOperationException("The server closed the socket.");
                if (m.Type == "error") throw new InvalidOperationException("The server answered an error: " + m.Text);
                if (m.Frame is not { Kind: FrameKinds.Live } f) continue;
                RgbImage? next = null;
                lock (gate)
                {
                    if (sentAt.Remove(f.RequestId, out double at))
                    {
                        latencies.Add(clock.Elapsed.TotalMilliseconds - at);
                        models.Add(f.Timings.ModelMs);
                    }
                    if (f.RequestId >= inFlight)
                    {
                        (next, pending) = (pending, null);
                        inFlight = next is null ? 0 : Reserved; // the slot stays taken until SendAsync numbers the next frame
                    }
                }
                if (next is not null) await SendAsync(next).ConfigureAwait(false);
            }
        }, stop.Token);

        var period = TimeSpan.FromSeconds(1 / options.CameraFps);
        for (int tick = 0; clock.Elapsed < options.Duration; tick++)
        {
            var due = period * tick;
            if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed, cancellationToken).ConfigureAwait(false);
            if (receiving.IsFaulted) await receiving.ConfigureAwait(false);
            var frame = Scene(options.Width, options.Height, clock.Elapsed.TotalSeconds);
            frames++;
            byte[] thumb = Thumbnail(frame);
            if (lastSentThumb is not null && Difference(thumb, lastSentThumb) < options.Threshold)
            {
                skipped++;
                continue;
            }
            bool sendNow;
            lock (gate)
            {
                sendNow = inFlight == 0;
                if (sendNow) inFlight = Reserved; // one frame in flight: the receive loop cannot send beside it
                else pending = frame;
            }
            lastSentThumb = thumb; // the newest frame is the one that will be sent
            if (sendNow) await SendAsync(frame).ConfigureAwait(false);
        }
        var duration = clock.Elapsed;
        await stop.CancelAsync().ConfigureAwait(false);
        try { await receiving.ConfigureAwait(false); } catch (OperationCanceledException) { }

        lock (gate)
        {
            return new CameraBenchmarkResult(frames, skipped, sent, latencies.Count, latencies.Count / duration.TotalSeconds,
                RealtimeBenchmark.Percentile(latencies, 0.5), RealtimeBenchmark.Percentile(latencies, 0.9), RealtimeBenchmark.Percentile(models, 0.5), duration);
        }
    }

    /// <summary>The synthetic camera at <paramref name="seconds"/>: a yellow ball circling over a blue gradient; still during the third second of every three.</summary>
    public static RgbImage Scene(int width, int height, double seconds)
    {
        double cycle = Math.Floor(seconds / 3), t = cycle * 2 + Math.Min(seconds - 3 * cycle, 2);
        double cx = width * (0.5 + 0.28 * Math.Cos(t * 3)), cy = height * (0.5 + 0.28 * Math.Sin(t * 3)), r = Math.Min(width, height) * 0.2;
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                bool ball = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
                pixels[i] = ball ? (byte)250 : (byte)(20 + 60 * x / width);
                pixels[i + 1] = ball ? (byte)230 : (byte)(40 + 60 * y / height);
                pixels[i + 2] = ball ? (byte)60 : (byte)170;
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>A 32-pixel-wide grey thumbnail (box-sampled), as the web app's filter takes.</summary>
    public static byte[] Thumbnail(RgbImage image)
    {
        int h = Math.Max(1, (int)Math.Round(ThumbWidth * (double)image.Height / image.Width));
        var thumb = new byte[ThumbWidth * h];
        for (int ty = 0; ty < h; ty++)
        {
            for (int tx = 0; tx < ThumbWidth; tx++)
            {
                int x = (int)((tx + 0.5) * image.Width / ThumbWidth), y = (int)((ty + 0.5) * image.Height / h), i = (y * image.Width + x) * 3;
                thumb[ty * ThumbWidth + tx] = (byte)((image.Pixels[i] * 77 + image.Pixels[i + 1] * 150 + image.Pixels[i + 2] * 29) >> 8);
            }
        }
        return thumb;
    }

    /// <summary>Mean absolute difference of two thumbnails, 0 … 1.</summary>
    public static double Difference(byte[] a, byte[] b)
    {
        long sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return sum / (a.Length * 255.0);
    }
}

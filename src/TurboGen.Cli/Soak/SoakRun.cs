using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TurboGen.Cli.Realtime;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Cli.Soak;

/// <summary>
/// A bounded load test of a running server (<c>turbogen bench --soak</c>, and the resilience tests' load form):
/// <see cref="SoakOptions.Sessions"/> WebSocket sessions type a sentence one character every key interval while
/// <see cref="SoakOptions.Clients"/> API clients send OpenAI, A1111 and native requests back to back, each from its own
/// loopback address (127.0.0.2, 127.0.0.3, …, so the server sees distinct clients), for a fixed time. Refusals are
/// honoured (the client waits Retry-After). Then typing stops and each session waits for the frame of its last keystroke.
/// Reports every request's fate, latencies, the frame share per session and the server's memory (<see cref="SoakReport"/>).
/// </summary>
public static class SoakRun
{
    private const string Sentence = "a lighthouse on a rocky coast at dusk, waves crashing, warm light, oil painting ";

    public static async Task<SoakReport> RunAsync(SoakOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var run = new State(options);
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var metrics = Client(options, bindTo: null);
        long startRss = await ResidentBytesAsync(metrics).ConfigureAwait(false) ?? 0;
        long maxRss = startRss;
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (await ResidentBytesAsync(metrics).ConfigureAwait(false) is { } rss) maxRss = Math.Max(maxRss, rss);
                try { await Task.Delay(1000, stop.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        }, CancellationToken.None);

        var until = clock.Elapsed + options.Duration;
        var sessions = Enumerable.Range(0, options.Sessions).Select(i => Task.Run(() => TypeAsync(options, run, i, clock, until, cancellationToken), CancellationToken.None)).ToList();
        var clients = Enumerable.Range(0, options.Clients).Select(i => Task.Run(() => RequestAsync(options, run, i, clock, until, cancellationToken), CancellationToken.None)).ToList();
        await Task.WhenAll(sessions.Concat(clients)).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        long endRss = await ResidentBytesAsync(metrics).ConfigureAwait(false) ?? 0;
        bool healthy;
        try { healthy = (await metrics.GetAsync("/health", cancellationToken).ConfigureAwait(false)).IsSuccessStatusCode; }
        catch (HttpRequestException) { healthy = false; }

        var framesPerSession = run.FramesBySession.Order().Select(n => (double)n).ToArray();
        return new SoakReport
        {
            Seconds = clock.Elapsed.TotalSeconds,
            Sessions = options.Sessions,
            Clients = options.Clients,
            Requests = run.Requests,
            Statuses = run.Statuses.ToDictionary(s => s.Key, s => s.Value),
            Unanswered = run.Unanswered,
            Problems = run.Problems.Take(10).ToList(),
            ApiLatencyMs = Percentiles(run.ApiLatencies.ToArray(), 50, 90, 99, 100),
            Keystrokes = run.Keystrokes,
            Frames = framesPerSession.Sum() is var f ? (int)f : 0,
            Busy = run.Busy,
            FramesPerSession = framesPerSession.Length == 0 ? [0, 0, 0] : [framesPerSession[0], Summary.Percentile(framesPerSession, 50), framesPerSession[^1]],
            SessionsCaughtUp = run.CaughtUp,
            FrameLatencyMs = Percentiles(run.FrameLatencies.ToArray(), 50, 90, 99),
            ResidentBytes = [startRss, Math.Max(maxRss, endRss), endRss],
            HealthyAfter = healthy,
        };
    }

    /// <summary>One session: type until the end, then wait for the frame of the last keystroke.</summary>
    private static async Task TypeAsync(SoakOptions options, State run, int index, Stopwatch clock, TimeSpan until, CancellationToken ct)
    {
        RealtimeClient client;
        try
        {
            client = await RealtimeClient.ConnectAsync(options.Server, options.ApiKey, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            run.Problem($"session {index}: could not connect: {e.Message}");
            return;
        }
        await using var _ = client;
        var sent = new List<(long Id, double At)>();
        var frames = new ConcurrentQueue<(long Id, double At)>();
        long lastId = 0, lastFrameId = -1;
        var lastFrame = new TaskCompletionSource();
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var receiver = Task.Run(async () =>
        {
            try
            {
                while (await client.ReceiveAsync(closing.Token).ConfigureAwait(false) is { } message)
                {
                    if (message.Frame is { Kind: FrameKinds.Live } frame)
                    {
                        frames.Enqueue((frame.RequestId, clock.Elapsed.TotalMilliseconds));
                        Volatile.Write(ref lastFrameId, frame.RequestId);
                        if (frame.RequestId == Volatile.Read(ref lastId) && clock.Elapsed >= until) lastFrame.TrySetResult();
                    }
                    else if (message.Type == "busy") run.CountBusy();
                    else if (message.Type == "error") run.Problem($"session {index}: error {message.Text}");
                }
            }
            catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException) { }
        }, CancellationToken.None);

        for (int k = 1; clock.Elapsed < until && !ct.IsCancellationRequested; k++)
        {
            string prompt = Sentence[..(1 + (k - 1) % Sentence.Length)];
            Volatile.Write(ref lastId, k);
            sent.Add((k, clock.Elapsed.TotalMilliseconds));
            try
            {
                await client.SendAsync(new ClientMessage { RequestId = k, Prompt = prompt, Seed = index, Steps = 1, Width = options.Size, Height = options.Size, Live = true }, ct)
                    .ConfigureAwait(false);
            }
            catch (System.Net.WebSockets.WebSocketException e)
            {
                run.Problem($"session {index}: the socket closed while typing: {e.Message}");
                break;
            }
            run.CountKeystroke();
            await Task.Delay(options.KeyInterval, ct).ConfigureAwait(false);
        }
        // Typing stopped: the last keystroke's frame must arrive (latest wins may skip the ones before it, never the last).
        if (Volatile.Read(ref lastFrameId) == Volatile.Read(ref lastId)) lastFrame.TrySetResult();
        bool caughtUp = await Task.WhenAny(lastFrame.Task, Task.Delay(options.RequestTimeout, ct)).ConfigureAwait(false) == lastFrame.Task;
        await closing.CancelAsync().ConfigureAwait(false);
        await receiver.ConfigureAwait(false);
        if (caughtUp) run.CountCaughtUp();
        else run.Problem($"session {index}: no frame for its last keystroke {Volatile.Read(ref lastId)} (last frame {Volatile.Read(ref lastFrameId)})");
        var received = frames.ToArray();
        run.AddFrames(received.Length);
        // Keystroke → first frame answering it or a later keystroke.
        int f = 0;
        foreach (var (id, at) in sent)
        {
            while (f < received.Length && (received[f].Id < id || received[f].At < at)) f++;
            if (f < received.Length) run.FrameLatencies.Add(received[f].At - at);
        }
    }

    /// <summary>One API client: OpenAI, A1111 and native requests in turn, back to back, until the end.</summary>
    private static async Task RequestAsync(SoakOptions options, State run, int index, Stopwatch clock, TimeSpan until, CancellationToken ct)
    {
        using var http = Client(options, bindTo: options.Server.Host == "127.0.0.1" ? new IPAddress([127, 0, 0, (byte)(2 + index)]) : null);
        string size = options.Size.ToString(CultureInfo.InvariantCulture);
        for (int n = 0; clock.Elapsed < until && !ct.IsCancellationRequested; n++)
        {
            var (path, body) = (n % 3) switch
            {
                0 => ("/v1/images/generations", $$"""{"prompt":"a lighthouse {{n}}","size":"{{size}}x{{size}}","response_format":"b64_json"}"""),
                1 => ("/sdapi/v1/txt2img", $$"""{"prompt":"a lighthouse {{n}}","width":{{size}},"height":{{size}},"steps":1}"""),
                _ => ("/api/generate", $$"""{"prompt":"a lighthouse {{n}}","width":{{size}},"height":{{size}}}"""),
            };
            var started = clock.Elapsed;
            TimeSpan? wait = null;
            try
            {
                using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"), ct).ConfigureAwait(false);
                string text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                run.Answer(status.ToString(CultureInfo.InvariantCulture));
                if (status == 200)
                {
                    using var doc = JsonDocument.Parse(text);
                    run.ApiLatencies.Add((clock.Elapsed - started).TotalMilliseconds);
                }
                else if (status is 429 or 503 && response.Headers.RetryAfter?.Delta is { } delta)
                {
                    wait = delta;
                }
                else
                {
                    run.Unanswer($"{path}: {status} {(text.Length > 200 ? text[..200] : text)}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException && !ct.IsCancellationRequested)
            {
                if (e is not JsonException) run.Answer("no answer");
                run.Unanswer($"{path}: {e.GetType().Name}: {e.Message}");
            }
            if (wait is { } w)
            {
                var left = until - clock.Elapsed;
                if (left > TimeSpan.Zero) await Task.Delay(w < left ? w : left, ct).ConfigureAwait(false);
            }
        }
    }

    private static HttpClient Client(SoakOptions options, IPAddress? bindTo)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (bindTo is not null)
        {
            // Each API client its own loopback address (Linux routes all of 127.0.0.0/8 to lo; elsewhere fall back to the default).
            handler.ConnectCallback = async (context, token) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    try { socket.Bind(new IPEndPoint(bindTo, 0)); } catch (SocketException) { }
                    await socket.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }
        var http = new HttpClient(handler) { BaseAddress = options.Server, Timeout = options.RequestTimeout };
        if (options.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        return http;
    }

    private static async Task<long?> ResidentBytesAsync(HttpClient http)
    {
        try
        {
            string text = await http.GetStringAsync("/metrics").ConfigureAwait(false);
            foreach (string line in text.Split('\n'))
            {
                if (line.StartsWith("process_resident_memory_bytes ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan("process_resident_memory_bytes ".Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value)) return value;
            }
        }
        catch (HttpRequestException)
        {
        }
        return null;
    }

    private static double[] Percentiles(double[] values, params double[] ps)
    {
        if (values.Length == 0) return ps.Select(_ => 0.0).ToArray();
        Array.Sort(values);
        return ps.Select(p => Summary.Percentile(values, p)).ToArray();
    }

    /// <summary>The counters every task of a run adds to.</summary>
    private sealed class State(SoakOptions options)
    {
        private int _requests, _unanswered, _keystrokes, _busy, _caughtUp;
        public ConcurrentDictionary<string, int> Statuses { get; } = new();
        public ConcurrentQueue<string> Problems { get; } = new();
        public ConcurrentBag<double> ApiLatencies { get; } = [];
        public ConcurrentBag<double> FrameLatencies { get; } = [];
        public ConcurrentBag<int> FramesBySession { get; } = [];
        public int Requests => _requests;
        public int Unanswered => _unanswered;
        public int Keystrokes => _keystrokes;
        public int Busy => _busy;
        public int CaughtUp => _caughtUp;
        public SoakOptions Options { get; } = options;

        public void Answer(string status)
        {
            Interlocked.Increment(ref _requests);
            Statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
        }

        public void Unanswer(string why)
        {
            Interlocked.Increment(ref _unanswered);
            Problem(why);
        }

        public void Problem(string why)
        {
            if (Problems.Count < 100) Problems.Enqueue(why);
        }

        public void CountKeystroke() => Interlocked.Increment(ref _keystrokes);
        public void CountBusy() => Interlocked.Increment(ref _busy);
        public void CountCaughtUp() => Interlocked.Increment(ref _caughtUp);
        public void AddFrames(int n) => FramesBySession.Add(n);
    }
}

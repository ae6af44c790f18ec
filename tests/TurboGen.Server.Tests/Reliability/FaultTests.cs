using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Realtime.Protocol;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.Reliability.ErrorShapes;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>
/// Faults a server meets in the field (issue 14, resilience): the model failing mid-run, runs cancelled inside ONNX
/// Runtime, clients vanishing mid-frame and mid-upload. Each ends in a clear answer (or none, for a client that is gone),
/// and the server goes on serving.
/// </summary>
public sealed class FaultTests
{
    [Fact]
    public async Task ModelFailingMidRun_IsAClearErrorOnEveryFrontEnd_NeverRetried_AndTheNextRequestIsServed()
    {
        string faulty = TinyModels.GetFaulty();
        var logs = new LogCollector();
        await using var server = await TestServer.StartAsync(configure: o => o with { ModelPath = faulty, TinyVaePath = Path.Combine(faulty, "taesd") },
            logging: logs.Attach);
        var worker = server.Worker();
        var unet = worker.Pipeline.Model.Unet;

        // 4 steps: the 4th UNet run fails inside ONNX Runtime, after three good ones.
        int runs = unet.RunCount, jobs = worker.JobsRun;
        var (status, _, response) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt":"a cat","width":64,"height":64,"steps":4}""");
        Assert.Equal(500, status);
        Assert.Contains("unet failed in ONNX Runtime", await AssertDocumentedErrorAsync(response, "/api/generate"));
        Assert.Equal(3, unet.RunCount - runs);
        Assert.Equal(1, worker.JobsRun - jobs);

        var a1111 = await server.Http.PostAsync("/sdapi/v1/txt2img", Json("""{"prompt":"a cat","width":64,"height":64,"steps":4}"""));
        Assert.Equal(HttpStatusCode.InternalServerError, a1111.StatusCode);
        await AssertDocumentedErrorAsync(a1111, "/sdapi/v1/txt2img");

        await using (var client = await server.ConnectAsync())
        {
            await client.SendAsync(RealtimeTestKit.Generate(1, "a cat") with { Steps = 4 });
            var error = await client.NextTextAsync("error");
            Assert.Equal(1, error.Text!.Value.GetProperty("requestId").GetInt64());
            Assert.Contains("ONNX Runtime", error.Text!.Value.GetProperty("message").GetString());
            int after = worker.JobsRun;
            await client.SendAsync(RealtimeTestKit.Generate(2, "a cat") with { Steps = 2 });
            Assert.Equal(2, (await client.NextFrameAsync()).Frame!.RequestId);
            Assert.Equal(after + 1, worker.JobsRun); // the failed request was not run again
        }

        var (ok, body, _) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt":"a cat","width":64,"height":64,"steps":3}""");
        Assert.Equal(200, ok);
        Assert.Single(body.GetProperty("images").EnumerateArray());
        Assert.Contains("turbogen_jobs_failed_total 3", await server.Http.GetStringAsync("/metrics"));
    }

    /// <summary>
    /// Runs cancelled at random moments — between steps and inside ONNX Runtime runs (2048² decodes take tens of
    /// milliseconds) — never leave a session broken: the next run gives exactly the image of a clean run.
    /// </summary>
    [Fact]
    public async Task RunsCancelledAtRandomMoments_TheNextRunIsExactlyAsAfterACleanStart()
    {
        await using var server = await TestServer.StartAsync();
        var worker = server.Worker();
        var probe = new GenerationRequest { Prompt = "a lighthouse", Seed = 3, Width = 64, Height = 64, Steps = 2 };
        var reference = (await worker.GenerateAsync("probe", probe, CancellationToken.None)).Images[0].Pixels;
        var random = new Random(14);
        int cancelled = 0, finished = 0;
        for (int i = 0; i < 12; i++)
        {
            using var cts = new CancellationTokenSource();
            var big = worker.Submit("big", new GenerationRequest { Prompt = "a storm " + i, Seed = i, Width = 2048, Height = 2048, Steps = 2 }, cts.Token);
            await big.Started;
            await Task.Delay(random.Next(0, 60));
            await cts.CancelAsync();
            try
            {
                await big.Result;
                finished++;
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
            var again = await worker.GenerateAsync("probe", probe, CancellationToken.None);
            Assert.Equal(reference, again.Images[0].Pixels);
        }
        Assert.True(cancelled > 0, $"no run was cancelled ({finished} finished): the test proves nothing");
    }

    [Fact]
    public async Task ClientsVanishingMidFrameAndMidUpload_LeaveNoSessionJobOrErrorBehind()
    {
        var logs = new LogCollector();
        await using var server = await TestServer.StartAsync(configure: o => o with { RefineDelay = TimeSpan.FromHours(1) }, logging: logs.Attach);
        var worker = server.Worker();
        var ws = new Uri(server.BaseAddress, "/ws").ToString().Replace("http", "ws", StringComparison.Ordinal);

        // Mid-frame: ask for a big frame and drop the connection after its first bytes arrive (or while it is computed).
        for (int i = 0; i < 6; i++)
        {
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri(ws), CancellationToken.None);
            var request = JsonSerializer.SerializeToUtf8Bytes(RealtimeTestKit.Generate(1, "a harbour " + i, size: 1024), RealtimeJson.Default.ClientMessage);
            await socket.SendAsync(request, WebSocketMessageType.Text, true, CancellationToken.None);
            var buffer = new byte[512];
            if (i % 2 == 0)
            {
                WebSocketReceiveResult part;
                do part = await socket.ReceiveAsync(buffer, CancellationToken.None); // hello, then the first 512 bytes of the frame
                while (part.MessageType == WebSocketMessageType.Text);
                Assert.False(part.EndOfMessage, "a 1024² frame fits in 512 bytes?");
            }
            socket.Abort();
        }

        // Mid-upload: a multipart edit and a JSON body that stop half-way, the connection closed.
        foreach (string path in new[] { "/v1/images/edits", "/api/generate", "/sdapi/v1/img2img" })
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
            var stream = tcp.GetStream();
            string type = path.EndsWith("edits", StringComparison.Ordinal) ? "multipart/form-data; boundary=b" : "application/json";
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {type}\r\nContent-Length: 1000000\r\n\r\n"));
            await stream.WriteAsync(Encoding.ASCII.GetBytes(path.EndsWith("edits", StringComparison.Ordinal)
                ? "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n\r\n" + new string('x', 50_000)
                : "{\"prompt\": \"" + new string('x', 50_000)));
            await stream.FlushAsync();
            await Task.Delay(50);
            tcp.Client.LingerState = new LingerOption(true, 0); // reset, as a crashed client's kernel would
            tcp.Close();
        }

        await RealtimeTestKit.EventuallyAsync(() => server.Sessions().Count == 0 && worker.QueueDepth == 0 && worker.Current is null, "sessions and jobs gone");
        var (status, _, _) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt":"still here","width":64,"height":64}""");
        Assert.Equal(200, status);
        Assert.True(logs.Errors.Count == 0, string.Join("\n", logs.Errors));
    }
}

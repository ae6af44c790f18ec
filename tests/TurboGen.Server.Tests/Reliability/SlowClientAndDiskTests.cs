using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TurboGen.Server.Policy;
using TurboGen.Testing;
using static TurboGen.Server.Tests.ApiTestHelpers;
using static TurboGen.Server.Tests.Reliability.ErrorShapes;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Slow clients against the Kestrel limits (<see cref="ConnectionLimits"/>), and a full output disk.</summary>
public sealed class SlowClientAndDiskTests
{
    private static readonly ConnectionLimits Short = new()
    {
        RequestHeadersTimeout = TimeSpan.FromSeconds(2),
        MinRequestBodyBytesPerSecond = 2000,
        MinDataRateGrace = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public async Task Slowloris_IsCutAfterTheHeaderTimeout_AndOthersAreServedMeanwhile()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Connections = Short });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var clock = Stopwatch.StartNew();
        byte[] headers = Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + new string('a', 400));
        bool closed = false;
        var other = Task.Run(async () => (await server.Http.GetAsync("/health")).StatusCode);
        for (int i = 0; i < headers.Length && clock.Elapsed < TimeSpan.FromSeconds(15); i++)
        {
            try
            {
                await stream.WriteAsync(headers.AsMemory(i, 1));
                if (tcp.Client.Poll(0, SelectMode.SelectRead)) // readable: a 408 answer or the close
                {
                    closed = true;
                    break;
                }
            }
            catch (IOException)
            {
                closed = true;
                break;
            }
            await Task.Delay(100);
        }
        Assert.True(closed, "the slowloris connection was never cut");
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 6);
        Assert.Equal(HttpStatusCode.OK, await other);
    }

    [Fact]
    public async Task ATricklingUpload_IsCutByTheMinimumDataRate()
    {
        await using var server = await TestServer.StartAsync(configure: o => o with { Connections = Short });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"prompt\":\""));
        var clock = Stopwatch.StartNew();
        string? answer = null;
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[4096];
            int n;
            var text = new StringBuilder();
            try
            {
                while ((n = await stream.ReadAsync(buffer)) > 0) text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            catch (IOException)
            {
            }
            answer = text.ToString();
        });
        while (!reader.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            try { await stream.WriteAsync("xxxxxxxxxx"u8.ToArray()); } catch (IOException) { break; }
            await Task.WhenAny(reader, Task.Delay(500));
        }
        await reader.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.5, 8);
        // Kestrel answers 408 when it still can, else it just closes; never a 5xx.
        Assert.True(answer!.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    /// <summary>
    /// The output folder on a full file system (a 256 KiB tmpfs, filled): saving is a clear 507 in each front end's
    /// shape, the refined live frame still arrives with the error said once, and no file — finished or temporary — is left.
    /// Needs root on Linux to mount the tmpfs; elsewhere there is no full disk to test against and the test says so.
    /// </summary>
    [Fact]
    public async Task FullDisk_IsAClearError_AndLeavesNoFileBehind()
    {
        string mount = TestPaths.NewTempDir("turbogen-full");
        if (!OperatingSystem.IsLinux() || !Run("mount", $"-t tmpfs -o size=256k tmpfs {mount}"))
        {
            Console.WriteLine("FullDisk test not run: mounting a tmpfs needs root on Linux.");
            return;
        }
        try
        {
            string outputs = Path.Combine(mount, "outputs");
            Directory.CreateDirectory(outputs);
            FillUp(Path.Combine(mount, "filler"));
            await using var server = await TestServer.StartAsync(configure: o => o with { OutputDir = outputs, RefineDelay = TimeSpan.FromMilliseconds(30) });

            var (status, _, response) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt":"a cat","width":256,"height":256,"save":true}""");
            Assert.Equal(507, status);
            Assert.Contains("No space left", await AssertDocumentedErrorAsync(response, "/api/generate"));
            var a1111 = await server.Http.PostAsync("/sdapi/v1/txt2img", Json("""{"prompt":"a cat","width":256,"height":256,"save_images":true}"""));
            Assert.Equal(507, (int)a1111.StatusCode);
            await AssertDocumentedErrorAsync(a1111, "/sdapi/v1/txt2img");

            await using (var client = await server.ConnectAsync())
            {
                // Keeping the picture is the web app's only save; it fails with the disk full, naming keep.
                await client.SendAsync(RealtimeTestKit.Generate(1, "a cat", size: 256) with { Keep = true });
                var error = await client.NextTextAsync("error");
                Assert.Equal("keep", error.Text!.Value.GetProperty("field").GetString());
                Assert.Contains("No space left", error.Text!.Value.GetProperty("message").GetString());
                Assert.Null((await client.NextFrameAsync(f => f.Kind == "refined")).Frame!.File);

                // An upscale kept on the socket: the same error naming keep, then the upscaled frame, unnamed.
                await client.SendAsync(RealtimeUpscaleTests.Upscale(2, RealtimeUpscaleTests.DataUrl(128, 128), keep: true));
                error = await client.NextTextAsync("error");
                Assert.Equal(("keep", 2), (error.Text!.Value.GetProperty("field").GetString(), error.Text!.Value.GetProperty("requestId").GetInt64()));
                var upscaled = (await client.NextFrameAsync(f => f.Kind == "upscaled")).Frame!;
                Assert.Equal((256, null), (upscaled.Width, upscaled.File));
            }
            var (upscaleStatus, _, upscaleResponse) = await PostJsonAsync(server.Http, "/api/upscale", $$"""{"image": "{{RealtimeUpscaleTests.DataUrl(128, 128)}}", "save": true}""");
            Assert.Equal(507, upscaleStatus);
            Assert.Contains("No space left", await AssertDocumentedErrorAsync(upscaleResponse, "/api/upscale"));
            Assert.Empty(Directory.GetFiles(outputs, "*", SearchOption.AllDirectories));

            // Space again: the next save works.
            File.Delete(Path.Combine(mount, "filler"));
            var (ok, body, _) = await PostJsonAsync(server.Http, "/api/generate", """{"prompt":"a cat","width":256,"height":256,"save":true}""");
            Assert.Equal(200, ok);
            string saved = body.GetProperty("images")[0].GetProperty("saved_as").GetString()!;
            Assert.Equal([saved], Directory.GetFiles(outputs).Select(Path.GetFileName));
        }
        finally
        {
            Run("umount", $"-l {mount}");
        }
    }

    private static void FillUp(string path)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1);
        var block = new byte[4096];
        try
        {
            while (true) file.Write(block);
        }
        catch (IOException)
        {
            // Full.
        }
    }

    private static bool Run(string command, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit(10_000);
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

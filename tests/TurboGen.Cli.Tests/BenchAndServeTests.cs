using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace TurboGen.Cli.Tests;

/// <summary><c>bench</c> and <c>serve</c> as real processes on the tiny model.</summary>
[Collection(CliCollection.Name)]
public sealed class BenchAndServeTests(CliFixture fixture)
{
    [Fact]
    public async Task Bench_Json_HasStagesStatisticsAndStartTimes()
    {
        var run = await fixture.RunAsync(fixture.PulledHome, "bench", "--runs", "2", "--warmup", "0", "--size", "64x64", "--steps", "2", "--json", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("runs").GetInt32());
        Assert.Equal(64, root.GetProperty("width").GetInt32());
        var stages = root.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("stage").GetString()!);
        foreach (string stage in new[] { "tokenize.text_encoder", "encode.text_encoder", "encode.text_encoder_2", "unet.step0", "unet.step1", "decode.vae" })
        {
            Assert.True(stages.ContainsKey(stage), $"missing stage {stage}: {string.Join(", ", stages.Keys)}");
        }
        var unet = stages["unet.step0"].GetProperty("ms");
        Assert.True(unet.GetProperty("min").GetDouble() > 0);
        Assert.True(unet.GetProperty("min").GetDouble() <= unet.GetProperty("median").GetDouble());
        Assert.True(unet.GetProperty("median").GetDouble() <= unet.GetProperty("max").GetDouble());
        Assert.True(root.GetProperty("cold_start").GetProperty("load_ms").GetDouble() > 0);
        Assert.True(root.GetProperty("warm_start").GetProperty("time_to_first_image_ms").GetDouble() > 0);
        Assert.True(root.GetProperty("peak_working_set_bytes").GetInt64() > 10_000_000);
        Assert.True(root.GetProperty("images_per_second").GetDouble() > 0);
    }

    [Fact]
    public async Task Bench_Human_PrintsATable()
    {
        var run = await fixture.RunAsync(fixture.PulledHome, "bench", "-m", fixture.ModelFolder, "--runs", "1", "--size", "64x64", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("unet.step0", run.Stdout);
        Assert.Contains("Cold start", run.Stdout);
    }

    [Fact]
    public async Task Serve_AnswersHealth_AndCtrlCStopsCleanly()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // SIGINT is sent with kill(1)
        }
        int port = FreePort();
        using var process = CliProcess.Start(fixture.Environment(fixture.PulledHome), fixture.NewWorkDir(),
            ["serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--threads", "1"], out var stdout, out var stderr);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(15) };
        string? health = null;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                var response = await http.GetAsync("/health");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    health = await response.Content.ReadAsStringAsync();
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet, or too slow to answer on a loaded machine: try again until the deadline
            }
            await Task.Delay(100);
        }
        Assert.True(health is not null, $"server never became ready\n{stdout}\n{stderr}");
        Assert.Contains(CliFixture.RepoId, health);

        // The real-time benchmark types against the running server through its WebSocket.
        var bench = await fixture.RunAsync(fixture.PulledHome, "bench", "--realtime", $"http://127.0.0.1:{port}", "--size", "64x64", "--keys-per-second", "40", "--json");
        Assert.True(bench.ExitCode == 0, bench.ToString());
        using (var report = System.Text.Json.JsonDocument.Parse(bench.Stdout))
        {
            Assert.True(report.RootElement.GetProperty("keystrokes").GetInt32() > 10);
            Assert.True(report.RootElement.GetProperty("frames_shown").GetInt32() >= 1);
        }

        // The soak (bench --soak) loads the same server with sessions and API clients and reports every answer.
        var soak = await fixture.RunAsync(fixture.PulledHome, "bench", "--soak", $"http://127.0.0.1:{port}", "--sessions", "2", "--clients", "2", "--duration", "2",
            "--size", "64x64", "--json");
        Assert.True(soak.ExitCode == 0, soak.ToString());
        using (var report = System.Text.Json.JsonDocument.Parse(soak.Stdout))
        {
            Assert.True(report.RootElement.GetProperty("requests").GetInt32() > 2, soak.Stdout);
            Assert.Equal(0, report.RootElement.GetProperty("unanswered").GetInt32());
            Assert.Equal(2, report.RootElement.GetProperty("sessions_caught_up").GetInt32());
        }
        var remote = await fixture.RunAsync(fixture.PulledHome, "bench", "--soak", "http://192.0.2.1:7860", "--duration", "1");
        Assert.Equal(2, remote.ExitCode); // a load test never leaves this machine

        CliProcess.Interrupt(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{stdout}\n{stderr}");
        Assert.Contains($"serving {CliFixture.RepoId} on http://127.0.0.1:{port} (Ctrl-C to stop)", stderr.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Testing;
using TurboGen.Testing.FakeHub;

namespace TurboGen.Cli.Tests;

/// <summary><c>--controlnet org/name</c> on <c>generate</c> and <c>serve</c>: ControlNets downloaded from the fake Hub like models.</summary>
[Collection(CliCollection.Name)]
public sealed class ControlNetHubTests(CliFixture fixture)
{
    private static string ControlImage(string dir)
    {
        var pixels = Enumerable.Range(0, 64 * 64).SelectMany(i => (i % 64 / 8 + i / 64 / 8) % 2 == 0 ? new byte[] { 240, 240, 240 } : new byte[] { 10, 10, 10 }).ToArray();
        string path = Path.Combine(dir, "control.png");
        ImageCodec.SavePng(new RgbImage(64, 64, pixels), path);
        return path;
    }

    private FakeHubRepo AddRepo(string repoId, string folder) =>
        fixture.Hub.AddRepo(FakeHubRepo.FromFolder(repoId, folder));

    [Fact]
    public async Task Generate_DownloadsADiffusersControlNet_AndAnOnnxExport_FromTheHub()
    {
        AddRepo("test-org/controlnet-canny-sdxl-tiny", TinyControlNets.Get(TinyFamily.SdxlTurbo, onnx: false));
        AddRepo("test-org/controlnet-canny-sdxl-tiny-onnx", TinyControlNets.Get(TinyFamily.SdxlTurbo, onnx: true));
        string work = fixture.NewWorkDir();
        string image = ControlImage(work);
        string model = TinyModels.GetControlled(TinyFamily.SdxlTurbo);
        string home = fixture.NewHome();
        foreach (string repo in new[] { "test-org/controlnet-canny-sdxl-tiny", "test-org/controlnet-canny-sdxl-tiny-onnx" })
        {
            var run = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", model, "--size", "64x64", "--seed", "3", "--threads", "1",
                "-o", "out.png", "--control", $"canny:{image}", "--controlnet", repo);
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains($"Downloading {repo}@main", run.Stderr);
            Assert.Contains("controlnet0.step0", run.Stdout);
            Assert.True(Directory.Exists(Path.Combine(home, "hub", "models--" + repo.Replace("/", "--", StringComparison.Ordinal))));
        }
    }

    [Fact]
    public async Task Generate_ARepositoryWithoutReadableWeights_ExplainsWhatItFound()
    {
        fixture.Hub.AddRepo("test-org/controlnet-bin-only", FakeHubFile.FromText("config.json", "{\"_class_name\": \"ControlNetModel\"}"),
            FakeHubFile.FromBytes("diffusion_pytorch_model.bin", new byte[64], isLfs: true));
        string work = fixture.NewWorkDir();
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", TinyModels.GetControlled(TinyFamily.SdxlTurbo), "--size", "64x64",
            "--control", $"canny:{ControlImage(work)}", "--controlnet", "test-org/controlnet-bin-only");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(".bin weights are not read", run.Stderr);
        Assert.Contains("diffusion_pytorch_model.bin", run.Stderr);
    }

    [Fact]
    public async Task Serve_WithAHubControlNet_ListsIt_AndSteersA1111Requests()
    {
        if (OperatingSystem.IsWindows()) return; // SIGINT is sent with kill(1)
        const string repo = "test-org/serve-controlnet-sdxl-tiny";
        AddRepo(repo, TinyControlNets.Get(TinyFamily.SdxlTurbo, onnx: false));
        int port = FreePort();
        using var process = CliProcess.Start(fixture.Environment(fixture.NewHome()), fixture.NewWorkDir(),
            ["serve", "-m", TinyModels.GetControlled(TinyFamily.SdxlTurbo), "--controlnet", repo, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--threads", "1"], out var stdout, out var stderr);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            bool ready = false;
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (!ready && DateTime.UtcNow < deadline && !process.HasExited)
            {
                try
                {
                    ready = (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // not listening yet
                }
                if (!ready) await Task.Delay(100);
            }
            Assert.True(ready, $"server never became ready\n{stdout}\n{stderr}");

            using var list = JsonDocument.Parse(await http.GetStringAsync("/controlnet/model_list"));
            Assert.Equal([repo], list.RootElement.GetProperty("model_list").EnumerateArray().Select(m => m.GetString()));

            string work = fixture.NewWorkDir();
            string image = Convert.ToBase64String(File.ReadAllBytes(ControlImage(work)));
            string body = """{"prompt": "a cat", "width": 64, "height": 64, "seed": 1, "alwayson_scripts": {"controlnet": {"args": [{"enabled": true, "module": "canny", "model": "serve-controlnet-sdxl-tiny", "image": """
                + $"\"{image}\"" + "}]}}}";
            var response = await http.PostAsync("/sdapi/v1/txt2img", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        finally
        {
            CliProcess.Interrupt(process);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await process.WaitForExitAsync(timeout.Token);
        }
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{stdout}\n{stderr}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

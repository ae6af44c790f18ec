using TurboGen.Cli.Realtime;
using System.CommandLine;
using Spectre.Console;
using TurboGen.Hub;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Cli.Commands;

/// <summary><c>turbogen bench</c>: per-stage timings over warm runs, cold and warm start, peak memory (see <see cref="Benchmark"/>).</summary>
internal static class BenchCommand
{
    public static Command Create(Terminal terminal)
    {
        var shared = new SharedOptions();
        var runs = new Option<int>("--runs") { Description = "Timed runs.", DefaultValueFactory = _ => 5 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed runs after the first generation.", DefaultValueFactory = _ => 1 };
        var size = new Option<string?>("--size") { Description = "Image size WIDTHxHEIGHT (default: the model's, 512x512).", HelpName = "WxH" };
        var steps = new Option<int>("--steps") { Description = "Denoising steps.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch") { Description = "Images per run.", DefaultValueFactory = _ => 1 };
        var prompt = new Option<string>("--prompt") { Description = "Prompt to encode.", DefaultValueFactory = _ => "a cat astronaut floating above the earth, studio photo" };
        var tinyVae = new Option<string?>("--tiny-vae")
        {
            Description = "Decode with a tiny VAE (TAESD): PATH, or none for one bundled with the model (taesd/).",
            HelpName = "PATH",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (for comparisons) and nothing else on stdout." };
        var image = new Option<string?>("--image", "--init") { Description = "Benchmark image-to-image from this init image.", HelpName = "FILE" };
        var mask = new Option<string?>("--mask") { Description = "Benchmark inpainting with this mask (white repaints; needs --image).", HelpName = "FILE" };
        var strength = new Option<float>("--strength") { Description = "Image-to-image / inpainting strength.", DefaultValueFactory = _ => 0.5f };
        var realtime = new Option<string?>("--realtime")
        {
            Description = "Instead of the model: against a running `turbogen serve` at URL, simulate typing at --keys-per-second (keystroke-to-frame latency), then camera mode for --camera-seconds (pictures per second).",
            HelpName = "URL",
        };
        var keysPerSecond = new Option<double>("--keys-per-second") { Description = "Typing speed for --realtime.", DefaultValueFactory = _ => 8 };
        var apiKey = new Option<string?>("--api-key") { Description = "API key of the server for --realtime and --soak." };
        var soak = new Option<string?>("--soak")
        {
            Description = "Instead of the model: load a running `turbogen serve` on this machine at URL with --sessions typing WebSocket sessions and --clients API clients for --duration, and report what was answered.",
            HelpName = "URL",
        };
        var sessions = new Option<int>("--sessions") { Description = "Real-time sessions for --soak.", DefaultValueFactory = _ => 50 };
        var clients = new Option<int>("--clients") { Description = "API clients for --soak.", DefaultValueFactory = _ => 20 };
        var duration = new Option<double>("--duration") { Description = "Seconds of load for --soak.", DefaultValueFactory = _ => 300, HelpName = "SECONDS" };
        var cameraSeconds = new Option<double>("--camera-seconds")
        {
            Description = "How long --realtime runs camera mode (a synthetic 15 fps camera as image-to-image input); 0 = skip.",
            DefaultValueFactory = _ => 20,
        };
        var ceiling = new Option<bool>("--ceiling")
        {
            Description = "Measure this machine's fp32 GEMM rate through ONNX Runtime (2048³, 4096³ MatMul) and report each stage as a fraction of it; without -m, only the ceiling.",
        };
        foreach (var option in new[] { runs, warmup })
        {
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < (option == runs ? 1 : 0)) result.AddError($"{option.Name} must be at least {(option == runs ? 1 : 0)}.");
            });
        }

        var command = new Command("bench", "Benchmark a model: per-stage timings (median, p10/p90, min/max), cold and warm start, peak memory.");
        command.Subcommands.Add(RandomModelCommand.Create(terminal));
        command.Subcommands.Add(ControlNetCostCommand.Create(terminal));
        command.Subcommands.Add(BenchUpscaleCommand.Create(terminal));
        shared.AddTo(command);
        foreach (var option in new Option[] { runs, warmup, size, steps, batch, prompt, tinyVae, json, image, mask, strength, realtime, keysPerSecond, apiKey, cameraSeconds, ceiling, soak, sessions, clients, duration })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            var wxh = ImageSize.Parse(parse.GetValue(size));
            if (parse.GetValue(soak) is { } soakUrl)
            {
                await RunSoakAsync(terminal, soakUrl, parse.GetValue(sessions), parse.GetValue(clients), parse.GetValue(duration), wxh, parse.GetValue(apiKey),
                    parse.GetValue(json), ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            if (parse.GetValue(realtime) is { } url)
            {
                await RunRealtimeAsync(terminal, url, wxh, parse.GetValue(steps), parse.GetValue(keysPerSecond), parse.GetValue(cameraSeconds), parse.GetValue(apiKey),
                    parse.GetValue(json), ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            if (parse.GetValue(ceiling) && parse.GetResult(shared.Model) is null)
            {
                var runtime = shared.Runtime(parse, prepackByDefault: true);
                var only = await Task.Run(() => Benchmark.MeasureCeiling(runtime), ct).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    Json.Write(terminal.Output, only);
                }
                else
                {
                    foreach (var gemm in only.Gemms)
                    {
                        terminal.Output.WriteLine($"fp32 GEMM {gemm.Size}³: {gemm.BestMilliseconds:F1} ms = {gemm.Gflops:F1} GFLOP/s");
                    }
                    terminal.Output.WriteLine($"Ceiling: {only.Gflops:F1} GFLOP/s ({runtime.Provider}, {(runtime.Threads > 0 ? runtime.Threads : Hardware.PhysicalCores)} threads)");
                }
                return ExitCodes.Ok;
            }
            bool useTinyVae = parse.GetResult(tinyVae) is not null;
            var request = new GenerationRequest
            {
                Prompt = parse.GetValue(prompt) ?? "",
                Width = wxh?.Width,
                Height = wxh?.Height,
                Steps = SharedOptions.Given(parse, steps) ? parse.GetValue(steps) : shared.Preset(parse)?.Steps ?? parse.GetValue(steps),
                BatchSize = parse.GetValue(batch),
                UseTinyVae = useTinyVae,
                Strength = parse.GetValue(strength),
            };
            if (parse.GetValue(image) is { } imagePath) request = request with { InitImage = ImageCodec.Load(imagePath) };
            if (parse.GetValue(mask) is { } maskPath)
            {
                if (request.InitImage is null) throw new InvalidRequestException("--mask", "a mask needs the image to inpaint: add --image FILE.");
                request = request with { Mask = InpaintMask.FromImage(ImageCodec.Load(maskPath)) };
            }
            request.Validate(defaultSize: 512);
            bool asJson = parse.GetValue(json);
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var located = await locator.LocateAsync(parse.GetValue(shared.Model), ct, shared.Loras(parse), shared.BuildPrecision(parse), shared.GraphKernels(parse), parse.GetValue(shared.Provider) ?? "cpu",
                strictLora: parse.GetValue(shared.LoraStrict)).ConfigureAwait(false);
            var settings = new BenchSettings(located, new ModelLoadOptions
            {
                Runtime = shared.Runtime(parse, prepackByDefault: true),
                TinyVaePath = await locator.TinyVaeAsync(useTinyVae, parse.GetValue(tinyVae), located.Folder, ct, shared.BuildPrecision(parse)).ConfigureAwait(false),
                SkipVaeEncoder = !request.IsImageToImage,
            }, request, parse.GetValue(warmup), parse.GetValue(runs)) { Ceiling = parse.GetValue(ceiling) };
            Action<string> log = asJson ? _ => { } : message => terminal.Error.WriteLine($"bench: {message}");
            var report = await Task.Run(() => Benchmark.Run(settings, log, ct), ct).ConfigureAwait(false);
            if (asJson)
            {
                Json.Write(terminal.Output, report);
            }
            else
            {
                Print(terminal, report);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Print(Terminal terminal, BenchReport report)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("Stage").NoWrap());
        foreach (string column in new[] { "median", "p10", "p90", "min", "max", "ONNX median", "GFLOP", "GFLOP/s", "of ceiling" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        foreach (var stage in report.Stages)
        {
            table.AddRow(Markup.Escape(stage.Stage), Units.Milliseconds(stage.Ms.Median), Units.Milliseconds(stage.Ms.P10), Units.Milliseconds(stage.Ms.P90),
                Units.Milliseconds(stage.Ms.Min), Units.Milliseconds(stage.Ms.Max), stage.OnnxMs.Median > 0 ? Units.Milliseconds(stage.OnnxMs.Median) : "",
                stage.Gflop is { } g ? $"{g:F1}" : "", stage.Gflops is { } r ? $"{r:F1}" : "", stage.CeilingFraction is { } f ? $"{f:P0}" : "");
        }
        var t = report.TotalMs;
        table.AddRow("[bold]total (wall)[/]", $"[bold]{Units.Milliseconds(t.Median)}[/]", Units.Milliseconds(t.P10), Units.Milliseconds(t.P90),
            Units.Milliseconds(t.Min), Units.Milliseconds(t.Max), Units.Milliseconds(report.OnnxMs), "", "", "");
        terminal.Output.WriteLine($"{report.Model}: {report.Width}x{report.Height}, {report.Steps} step(s), batch {report.Batch}, {report.Provider} with {report.Threads} threads, {report.Runs} timed runs after {report.Warmup} warm-up");
        terminal.Output.Flush();
        terminal.Out.Write(table);
        terminal.Output.WriteLine($"Cold start: load {Units.Milliseconds(report.ColdStart.LoadMs)} + first image {Units.Milliseconds(report.ColdStart.FirstRunMs)} = {Units.Milliseconds(report.ColdStart.TimeToFirstImageMs)}");
        terminal.Output.WriteLine($"Warm start: load {Units.Milliseconds(report.WarmStart.LoadMs)} + first image {Units.Milliseconds(report.WarmStart.FirstRunMs)} = {Units.Milliseconds(report.WarmStart.TimeToFirstImageMs)}");
        terminal.Output.WriteLine($"Throughput: {report.ImagesPerSecond:0.00} images/s; peak working set {Units.Bytes(report.PeakWorkingSetBytes)} ({report.PeakOverWeights:0.00}× the {Units.Bytes(report.WeightBytes)} of weights)");
        terminal.Output.WriteLine($"Pipeline overhead (total − ONNX Runtime time): {report.OverheadFraction:P2}");
        if (report.Ceiling is { } c)
        {
            terminal.Output.WriteLine($"fp32 GEMM ceiling: {c.Gflops:F1} GFLOP/s ({string.Join(", ", c.Gemms.Select(x => $"{x.Size}³ {x.Gflops:F1}"))})");
        }
    }

    /// <summary><c>bench --soak URL</c>: the bounded load test of <see cref="Soak.SoakRun"/>; exit 0 whatever it finds (the report says it).</summary>
    private static async Task RunSoakAsync(Terminal terminal, string url, int sessions, int clients, double seconds, (int Width, int Height)? size,
        string? apiKey, bool asJson, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var server))
        {
            throw new InvalidRequestException("--soak", $"--soak needs the server's URL, e.g. http://127.0.0.1:7860 (got '{url}').");
        }
        if (!(seconds is > 0 and <= 86400)) throw new InvalidRequestException("--duration", "--duration must be between 1 and 86400 seconds.");
        var report = await Soak.SoakRun.RunAsync(new Soak.SoakOptions
        {
            Server = server, ApiKey = apiKey, Sessions = sessions, Clients = clients, Duration = TimeSpan.FromSeconds(seconds), Size = size?.Width ?? 64,
        }, ct).ConfigureAwait(false);
        if (asJson) Json.Write(terminal.Output, report);
        else terminal.Output.WriteLine(report.Summary());
    }

    /// <summary>
    /// <c>bench --realtime URL</c>: types a sentence against a running server (see <see cref="RealtimeBenchmark"/>), then runs
    /// camera mode (<see cref="CameraBenchmark"/>).
    /// </summary>
    private static async Task RunRealtimeAsync(Terminal terminal, string url, (int Width, int Height)? size, int steps, double keysPerSecond, double cameraSeconds,
        string? apiKey, bool asJson, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
        {
            throw new InvalidRequestException("--realtime", $"--realtime needs the server's http(s) URL, e.g. http://127.0.0.1:7860 (got '{url}').");
        }
        if (!(keysPerSecond > 0 && keysPerSecond <= 50))
        {
            throw new InvalidRequestException("--keys-per-second", "--keys-per-second must be in (0, 50].");
        }
        if (!(cameraSeconds >= 0 && cameraSeconds <= 3600))
        {
            throw new InvalidRequestException("--camera-seconds", "--camera-seconds must be between 0 (skip) and 3600.");
        }
        var result = await RealtimeBenchmark.RunAsync(new RealtimeBenchmarkOptions
        {
            Server = server,
            ApiKey = apiKey,
            KeysPerSecond = keysPerSecond,
            Width = size?.Width ?? 512,
            Height = size?.Height ?? 512,
            Steps = steps,
        }, ct).ConfigureAwait(false);
        if (!asJson) terminal.Output.WriteLine("typing: " + result.Summary());
        CameraBenchmarkResult? camera = null;
        if (cameraSeconds > 0)
        {
            camera = await CameraBenchmark.RunAsync(new CameraBenchmarkOptions
            {
                Server = server, ApiKey = apiKey, Width = size?.Width ?? 512, Height = size?.Height ?? 512, Steps = steps,
                Duration = TimeSpan.FromSeconds(cameraSeconds),
            }, ct).ConfigureAwait(false);
            if (!asJson) terminal.Output.WriteLine("camera: " + camera.Summary());
        }
        if (asJson) Json.Write(terminal.Output, new RealtimeReport(result, camera));
    }

    /// <summary><c>bench --realtime --json</c>: the typing and camera results.</summary>
    private sealed record RealtimeReport(RealtimeBenchmarkResult Typing, CameraBenchmarkResult? Camera);
}

using System.CommandLine;
using System.Diagnostics;
using TurboGen.Benchmarking;
using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Upscaling;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen bench upscale</c>: time and peak working set of an ESRGAN upscale of a SIZE² random image, tiled. The model is
/// <c>--model FILE</c>, or (default) a full-size random RealESRGAN_x4plus checkpoint (<see cref="RandomCheckpoint.WriteEsrgan"/>:
/// the network's cost does not depend on its weight values) written and built in a temporary folder that is deleted afterwards.
/// The peak is the process's high-water mark during the upscale runs only (Linux: reset through <c>/proc/self/clear_refs</c>
/// after loading), reported next to the weights and the goal of weights + 1 GiB.
/// </summary>
internal static class BenchUpscaleCommand
{
    public static Command Create(Terminal terminal)
    {
        var model = new Option<string?>("--model", "-m") { Description = "ESRGAN .safetensors/.onnx (default: random full-size RealESRGAN_x4plus weights).", HelpName = "FILE" };
        var size = new Option<int>("--size") { Description = "Side of the square input image.", DefaultValueFactory = _ => 512 };
        var tile = new Option<int>("--tile") { Description = "Tile size in input pixels.", DefaultValueFactory = _ => TileOptions.Default.Tile };
        var runs = new Option<int>("--runs") { Description = "Timed upscales.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = physical cores).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object and nothing else on stdout." };
        var command = new Command("upscale", "Benchmark ESRGAN upscaling: time and peak working set of a tiled ×scale upscale.");
        foreach (var option in new Option[] { model, size, tile, runs, threads, json })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            int side = parse.GetValue(size), count = parse.GetValue(runs);
            if (side is < 16 or > UpscaleLimits.MaxInputSide) throw new InvalidRequestException("--size", $"--size must be between 16 and {UpscaleLimits.MaxInputSide} (got {side}).");
            if (count < 1) throw new InvalidRequestException("--runs", "--runs must be at least 1.");
            var tiles = new TileOptions { Tile = parse.GetValue(tile) };
            tiles.Validate();
            string temp = Path.Combine(Path.GetTempPath(), $"turbogen-bench-upscale-{Environment.ProcessId}");
            try
            {
                string file = parse.GetValue(model) ?? "";
                if (file.Length == 0)
                {
                    Directory.CreateDirectory(temp);
                    file = Path.Combine(temp, "RealESRGAN_x4plus_random.safetensors");
                    terminal.Error.WriteLine("turbogen: writing random RealESRGAN_x4plus weights");
                    await Task.Run(() => RandomCheckpoint.WriteEsrgan(file, RrdbNetConfig.RealEsrganX4Plus, seed: 1), ct).ConfigureAwait(false);
                }
                var runtime = new RuntimeOptions { Threads = parse.GetValue(threads), PrepackWeights = true };
                var clock = Stopwatch.StartNew();
                using var esrgan = await Task.Run(() => EsrganModel.Load(file, runtime, cacheRoot: Directory.Exists(temp) ? temp : null, progress: new StderrProgress(terminal.Error)), ct).ConfigureAwait(false);
                double loadMs = clock.Elapsed.TotalMilliseconds;
                long weightBytes = WeightBytes(esrgan.Config, file);
                using var upscaler = new EsrganUpscaler(esrgan, tiles);
                var image = RandomImage(side, side);
                var process = Process.GetCurrentProcess();
                process.Refresh();
                long loaded = process.WorkingSet64;
                bool reset = ResetPeak();
                var times = new List<double>();
                RgbImage? result = null;
                for (int i = 0; i < count; i++)
                {
                    clock.Restart();
                    result = await Task.Run(() => upscaler.Upscale(image, side * esrgan.Scale, side * esrgan.Scale, ct), ct).ConfigureAwait(false);
                    times.Add(clock.Elapsed.TotalMilliseconds);
                }
                process.Refresh();
                long peak = process.PeakWorkingSet64;
                var report = new UpscaleBenchReport(esrgan.Name, esrgan.Scale, side, result!.Width, tiles.Tile, tiles.Overlap, tiles.Padding,
                    runtime.Threads > 0 ? runtime.Threads : Hardware.PhysicalCores, loadMs, times.Min(), times.Order().ElementAt(times.Count / 2),
                    weightBytes, loaded, peak, reset, peak - weightBytes, peak <= weightBytes + (1L << 30));
                if (parse.GetValue(json))
                {
                    Json.Write(terminal.Output, report);
                }
                else
                {
                    terminal.Output.WriteLine($"{report.Model} ×{report.Scale}: {side}² → {report.OutputSide}² in {Units.Milliseconds(report.MedianMs)} (min {Units.Milliseconds(report.MinMs)}; tiles {tiles.Tile}+{tiles.Padding} context, {tiles.Overlap} overlap; {report.Threads} threads)");
                    terminal.Output.WriteLine($"Peak working set during the upscale {Units.Bytes(peak)}{(reset ? "" : " (whole process)")}: weights {Units.Bytes(weightBytes)} + {Units.Bytes(peak - weightBytes)}; goal ≤ weights + 1 GiB: {(report.WithinGoal ? "met" : "missed")}");
                }
                return ExitCodes.Ok;
            }
            finally
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            }
        });
        return command;
    }

    private static long WeightBytes(RrdbNetConfig? config, string file) =>
        config is not null ? config.ParameterCount * 4 : new FileInfo(file).Length;

    private static RgbImage RandomImage(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        new Random(1).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Resets the kernel's peak-RSS mark (VmHWM) so the peak covers what follows; false where that is not possible.</summary>
    private static bool ResetPeak()
    {
        try
        {
            if (!OperatingSystem.IsLinux()) return false;
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>The <c>bench upscale --json</c> object.</summary>
internal sealed record UpscaleBenchReport(string Model, int Scale, int InputSide, int OutputSide, int Tile, int Overlap, int Padding, int Threads,
    double LoadMs, double MinMs, double MedianMs, long WeightBytes, long WorkingSetAfterLoadBytes, long PeakWorkingSetBytes, bool PeakCoversUpscaleOnly,
    long PeakOverWeightsBytes, bool WithinGoal);

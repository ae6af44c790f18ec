using System.CommandLine;
using TurboGen.Benchmarking;
using TurboGen.Runtime;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen bench controlnet-cost</c>: one full-size random-weight ControlNet run vs one UNet step (see <see cref="ControlNetCost"/>).
/// The random models are written under <c>--work DIR</c> (about 16 GB for SDXL in float32) and deleted afterwards unless <c>--keep</c>.
/// </summary>
internal static class ControlNetCostCommand
{
    public static Command Create(Terminal terminal)
    {
        var family = new Option<string>("--family") { Description = "sd-turbo or sdxl-turbo.", Required = true };
        family.AcceptOnlyFromAmong("sd-turbo", "sdxl-turbo");
        var work = new Option<string>("--work") { Description = "Folder for the random models (created; deleted afterwards unless --keep).", Required = true, HelpName = "DIR" };
        var size = new Option<int>("--size") { Description = "Image side in pixels.", DefaultValueFactory = _ => 512 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per component.", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = physical cores).", DefaultValueFactory = _ => 0 };
        var keep = new Option<bool>("--keep") { Description = "Keep the random models." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var flopsOnly = new Option<bool>("--flops-only") { Description = "Only count the analytic FLOPs of both graphs (no timing)." };
        var command = new Command("controlnet-cost", "Time one full-size random-weight ControlNet against one UNet step (A-B-A) and print the ratio.");
        foreach (var option in new Option[] { family, work, size, runs, threads, keep, json, flopsOnly })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, (parse, ct) =>
        {
            var f = parse.GetValue(family) == "sdxl-turbo" ? ModelFamily.Sdxl : ModelFamily.Sd;
            int side = parse.GetValue(size);
            if (side is < 64 or > 2048 || side % 8 != 0) throw new InvalidRequestException("--size", $"--size must be a multiple of 8 between 64 and 2048 (got {side}).");
            if (parse.GetValue(runs) < 1) throw new InvalidRequestException("--runs", "--runs must be at least 1.");
            string dir = Path.GetFullPath(parse.GetValue(work)!);
            var progress = new StderrLines(terminal);
            try
            {
                var (unet, controlnet) = ControlNetCost.Build(dir, f, seed: 1, progress, ct);
                var (unetFlops, controlFlops) = ControlNetCost.Flops(unet, controlnet, f, side);
                terminal.Error.WriteLine($"controlnet-cost: analytic FLOPs at {side}²: UNet step {unetFlops.Teraflops * 1000:F0} GFLOP, ControlNet {controlFlops.Teraflops * 1000:F0} GFLOP: {(double)controlFlops.Total / unetFlops.Total:F2}×" +
                    (unetFlops.IsComplete && controlFlops.IsComplete ? "" : " (lower bounds: some nodes uncounted)"));
                if (parse.GetValue(flopsOnly)) return Task.FromResult(ExitCodes.Ok);
                var runtime = new RuntimeOptions { Threads = parse.GetValue(threads) };
                var result = ControlNetCost.Measure(unet, controlnet, f, side, parse.GetValue(runs), runtime, progress, ct);
                if (parse.GetValue(json))
                {
                    Json.Write(terminal.Output, result);
                }
                else
                {
                    terminal.Output.WriteLine($"{result.Family} at {side}²: UNet step {result.UnetMs:F0} ms (again {result.UnetAgainMs:F0} ms), ControlNet {result.ControlNetMs:F0} ms: {result.Ratio:F2}× a UNet step");
                }
            }
            finally
            {
                if (!parse.GetValue(keep) && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private sealed class StderrLines(Terminal terminal) : IProgress<string>
    {
        public void Report(string value) => terminal.Error.WriteLine($"controlnet-cost: {value}");
    }
}

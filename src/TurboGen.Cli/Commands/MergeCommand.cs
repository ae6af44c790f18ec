using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TurboGen.Merging;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen merge A B -o OUT [--base C] [--weight W]</c>: a weighted sum (1 − w) · A + w · B of two safetensors checkpoints,
/// or with <c>--base C</c> an add-difference A + (B − C) · w (e.g. fine-tune + (turbo − base)), written as a safetensors
/// checkpoint by <see cref="CheckpointMerge"/>, streamed per tensor. The last line reports the process's peak working set, so
/// the bounded memory can be checked on any file size.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(Terminal terminal)
    {
        var a = new Argument<string>("A") { Description = "The checkpoint merged into (.safetensors); its tensor order and dtypes are the output's." };
        var b = new Argument<string>("B") { Description = "The second checkpoint (.safetensors): weighted into A, or the model whose difference from --base is added." };
        var output = new Option<string>("--output", "-o") { Description = "The merged .safetensors file to write.", Required = true, HelpName = "FILE" };
        var baseModel = new Option<string?>("--base")
        {
            Description = "C of an add-difference merge A + (B − C) · w: the model B was made from (e.g. B = sd-turbo, C = stable-diffusion-2-1-base).",
            HelpName = "C",
        };
        var method = new Option<string?>("--method")
        {
            Description = "weighted-sum ((1 − w) · A + w · B) or add-difference (A + (B − C) · w). Default: add-difference when --base is given, else weighted-sum.",
        };
        method.AcceptOnlyFromAmong("weighted-sum", "add-difference");
        var weight = new Option<float?>("--weight", "-w")
        {
            Description = "w in the formula (any finite number). Default: 0.5 for weighted-sum, 1 for add-difference.",
        };
        var onlyInA = new Option<string>("--only-in-a")
        {
            Description = "Tensors A has and B (and C) lack: keep (copied from A, e.g. A's VAE when B and C hold only a UNet), drop, or error.",
            DefaultValueFactory = _ => "keep",
        };
        onlyInA.AcceptOnlyFromAmong("keep", "drop", "error");
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output file if it exists." };

        var command = new Command("merge", "Merge safetensors checkpoints: weighted sum, or add-difference (fine-tune + (turbo − base)).");
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        foreach (var option in new Option[] { output, baseModel, method, weight, onlyInA, overwrite }) command.Options.Add(option);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string? c = parse.GetValue(baseModel);
            var mergeMethod = parse.GetValue(method) switch
            {
                "weighted-sum" => MergeMethod.WeightedSum,
                "add-difference" => MergeMethod.AddDifference,
                _ => c is null ? MergeMethod.WeightedSum : MergeMethod.AddDifference,
            };
            var options = new CheckpointMergeOptions
            {
                Method = mergeMethod,
                Weight = parse.GetValue(weight) ?? (mergeMethod == MergeMethod.WeightedSum ? 0.5f : 1f),
                OnlyInA = parse.GetValue(onlyInA) switch { "drop" => OnlyInAPolicy.Drop, "error" => OnlyInAPolicy.Error, _ => OnlyInAPolicy.Keep },
                Overwrite = parse.GetValue(overwrite),
            };
            var clock = Stopwatch.StartNew();
            string pathA = parse.GetValue(a) ?? "", pathB = parse.GetValue(b) ?? "", outputPath = parse.GetValue(output) ?? "";
            var report = await Task.Run(() => CheckpointMerge.Run(pathA, pathB, c, outputPath, options, ct), ct).ConfigureAwait(false);
            string w = options.Weight.ToString("R", CultureInfo.InvariantCulture);
            string formula = options.Method == MergeMethod.WeightedSum ? $"(1 − {w}) · A + {w} · B" : $"A + (B − C) · {w}";
            terminal.Output.WriteLine($"Merged {formula} into {report.Output}: {report.Merged} tensor(s) merged, {report.CopiedFromA} copied from A, {report.Dropped} dropped; {Units.Bytes(report.BytesWritten)} in {Units.Milliseconds(clock.Elapsed.TotalMilliseconds)}.");
            if (report.NotInA.Count > 0)
            {
                string shown = string.Join(", ", report.NotInA.Take(5)) + (report.NotInA.Count > 5 ? $", … ({report.NotInA.Count - 5} more)" : "");
                terminal.Error.WriteLine($"turbogen: warning: {report.NotInA.Count} tensor(s) of B/C are not in A and were not written: {shown}");
            }
            using var self = Process.GetCurrentProcess();
            terminal.Output.WriteLine($"Peak working set: {self.PeakWorkingSet64 / (1024 * 1024)} MiB");
            return ExitCodes.Ok;
        });
        return command;
    }
}

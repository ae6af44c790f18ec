using System.CommandLine;
using TurboGen.Building;
using TurboGen.Graphs;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen convert SOURCE OUTPUT</c>: writes a model as a self-contained Optimum-layout ONNX folder
/// (<see cref="ModelConverter.Convert"/>): a diffusers folder or safetensors checkpoint is built, an ONNX folder copied.
/// SOURCE may also be a Hub id: the variant <c>generate</c> would download for the CPU provider is fetched first (see
/// <see cref="HubVariants"/>). The output appears only when complete.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create(Terminal terminal)
    {
        var source = new Argument<string>("SOURCE") { Description = "Diffusers folder, .safetensors checkpoint, ONNX folder or Hugging Face id." };
        var output = new Argument<string>("OUTPUT") { Description = "New ONNX model folder (must not exist or be empty)." };
        var command = new Command("convert", "Convert a model (diffusers folder, safetensors checkpoint) into an ONNX model folder.");
        command.Arguments.Add(source);
        command.Arguments.Add(output);
        var precision = new Option<string>("--precision")
        {
            Description = "Precision of a model built from safetensors: fp32 (any provider) or fp16 (GPU providers). ONNX folders are copied as they are.",
            DefaultValueFactory = _ => "fp32",
        };
        precision.AcceptOnlyFromAmong("fp32", "fp16");
        command.Options.Add(precision);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string outputDir = Path.GetFullPath(parse.GetValue(output) ?? "");
            var buildPrecision = BuildPrecisions.Parse(parse.GetValue(precision) ?? "fp32", "--precision");
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var located = await locator.FetchAsync(parse.GetValue(source), ct, build: buildPrecision).ConfigureAwait(false);
            var options = new ModelResolveOptions
            {
                Progress = new StderrProgress(terminal.Error),
                Precision = buildPrecision,
                TokenizerSource = locator.TokenizerSource(located),
                IgnoreOnnxExport = located.Variant is { NeedsBuild: true },
            };
            await Task.Run(() => ModelConverter.Convert(located.Folder, outputDir, options, ct), ct).ConfigureAwait(false);
            terminal.Output.WriteLine($"Converted {located.Name} into {outputDir}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

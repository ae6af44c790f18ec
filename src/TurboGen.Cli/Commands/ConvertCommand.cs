using System.CommandLine;
using TurboGen.Building;
using TurboGen.Graphs;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen convert SOURCE OUTPUT</c>: writes a model as a self-contained Optimum-layout ONNX folder
/// (<see cref="ModelConverter.Convert"/>): a diffusers folder or safetensors checkpoint is built, an ONNX folder copied.
/// SOURCE may also be a Hub id: the variant <c>generate</c> would download for the CPU provider is fetched first (see
/// <see cref="HubVariants"/>). A single-file checkpoint gets its tokenizers as <c>generate</c>'s do (<see cref="ModelLocator.TokenizerSource"/>:
/// the single-file repository's, else the standard ones from the Hub cache or the Hub), or from <c>--tokenizer FOLDER</c>
/// (<see cref="ModelLocator.ExplicitTokenizers"/>). The output appears only when complete.
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
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = "Tokenizers for a single-file checkpoint: a folder holding tokenizer/ (and tokenizer_2/ for SDXL), or an SD tokenizer folder itself (vocab.json, merges.txt). Default: the Hub cache's (stabilityai/sdxl-turbo or sd-turbo), downloaded if missing.",
            HelpName = "FOLDER",
        };
        command.Options.Add(tokenizer);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string outputDir = Path.GetFullPath(parse.GetValue(output) ?? "");
            var buildPrecision = BuildPrecisions.Parse(parse.GetValue(precision) ?? "fp32", "--precision");
            string? tokenizerFolder = parse.GetValue(tokenizer);
            var explicitTokenizers = tokenizerFolder is null ? null : ModelLocator.ExplicitTokenizers(tokenizerFolder); // checked before any download
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var located = await locator.FetchAsync(parse.GetValue(source), ct, build: buildPrecision).ConfigureAwait(false);
            var options = new ModelResolveOptions
            {
                Progress = new StderrProgress(terminal.Error),
                Precision = buildPrecision,
                TokenizerSource = explicitTokenizers ?? locator.TokenizerSource(located),
                IgnoreOnnxExport = located.Variant is { NeedsBuild: true },
            };
            await Task.Run(() => ModelConverter.Convert(located.Folder, outputDir, options, ct), ct).ConfigureAwait(false);
            terminal.Output.WriteLine($"Converted {located.Name} into {outputDir}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

using System.CommandLine;
using TurboGen.Building;
using TurboGen.Configs;
using TurboGen.Graphs;
using TurboGen.Hub;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen convert SOURCE OUTPUT</c>: writes a model as a self-contained Optimum-layout ONNX folder
/// (<see cref="ModelConverter.Convert"/>): a diffusers folder or safetensors checkpoint is built, an ONNX folder copied.
/// SOURCE may also be a Hub id: the variant <c>generate</c> would download for the CPU provider is fetched first (see
/// <see cref="HubVariants"/>). A single-file checkpoint gets its tokenizers as <c>generate</c>'s do (<see cref="ModelLocator.TokenizerSource"/>:
/// the single-file repository's, else the standard ones from the Hub cache or the Hub), or from <c>--tokenizer FOLDER</c>
/// (<see cref="ModelLocator.ExplicitTokenizers"/>). <c>--config FOLDER</c> gives a single file the configs of a diffusers folder
/// (<see cref="ModelConfigSet.FromFolder"/>; its tokenizer/ too when <c>--tokenizer</c> is not given) instead of the published base
/// model's (SD 1.5, SD-Turbo, SDXL-Turbo), as diffusers' <c>from_single_file(config=…)</c>. The output appears only when complete.
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
        var config = new Option<string?>("--config")
        {
            Description = "Configs for a single-file checkpoint whose networks differ from its base model's (SD 1.5, SD-Turbo, SDXL-Turbo): a diffusers folder with unet/, text_encoder/ (text_encoder_2/), vae/, scheduler/ configs and model_index.json; its tokenizer/ is used when --tokenizer is not given.",
            HelpName = "FOLDER",
        };
        command.Options.Add(config);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string outputDir = Path.GetFullPath(parse.GetValue(output) ?? "");
            var buildPrecision = BuildPrecisions.Parse(parse.GetValue(precision) ?? "fp32", "--precision");
            string? tokenizerFolder = parse.GetValue(tokenizer);
            string? configFolder = parse.GetValue(config) is { } c ? Path.GetFullPath(c) : null;
            var singleFileConfigs = configFolder is null ? null : ModelConfigSet.FromFolder(configFolder);
            if (tokenizerFolder is null && configFolder is not null && Directory.Exists(Path.Combine(configFolder, "tokenizer")))
            {
                tokenizerFolder = configFolder;
            }
            var explicitTokenizers = tokenizerFolder is null ? null : ModelLocator.ExplicitTokenizers(tokenizerFolder); // checked before any download
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var located = await locator.FetchAsync(parse.GetValue(source), ct, build: buildPrecision).ConfigureAwait(false);
            var options = new ModelResolveOptions
            {
                Progress = new StderrProgress(terminal.Error),
                Precision = buildPrecision,
                TokenizerSource = explicitTokenizers ?? locator.TokenizerSource(located),
                IgnoreOnnxExport = located.Variant is { NeedsBuild: true },
                SingleFileConfigs = singleFileConfigs,
            };
            await Task.Run(() => ModelConverter.Convert(located.Folder, outputDir, options, ct), ct).ConfigureAwait(false);
            terminal.Output.WriteLine($"Converted {located.Name} into {outputDir}");
            return ExitCodes.Ok;
        });
        return command;
    }
}

using TurboGen.Server.Policy;
using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TurboGen.Hub;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen generate PROMPT</c>: validates every option before touching the model (bad values exit 2 at once),
/// resolves the model (<see cref="ModelLocator"/>, downloading when needed), loads it, runs one batch of
/// <c>--count</c> images with seeds seed…seed+N−1, and saves each as a PNG with its parameters embedded
/// (<see cref="GenerationMetadata"/>, written atomically). Prints the files, seeds and per-stage timings, or with
/// <c>--json</c> exactly one JSON object on stdout.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create(Terminal terminal)
    {
        var prompt = new Argument<string>("PROMPT") { Description = "What to draw." };
        var shared = new SharedOptions();
        var steps = new Option<int>("--steps") { Description = "Denoising steps (turbo models: 1–4).", DefaultValueFactory = _ => 1 };
        var size = new Option<string?>("--size") { Description = "Image size WIDTHxHEIGHT, multiples of 8 (default: the model's, 512x512).", HelpName = "WxH" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the first image (default: random; printed)." };
        var count = new Option<int>("--count", "-n") { Description = $"Images to generate (seeds seed…seed+N−1), 1–{GenerationRequest.MaxBatch}.", DefaultValueFactory = _ => 1 };
        var image = new Option<string?>("--image", "--init") { Description = "Init image for image-to-image or inpainting (PNG, JPEG, WebP, ...).", HelpName = "FILE" };
        var inpaint = new InpaintOptions();
        var strength = new Option<float?>("--strength") { Description = "Image-to-image strength in (0, 1] (default 0.5; needs --image)." };
        var negative = new Option<string>("--negative") { Description = "Negative prompt (only used with --guidance > 1).", DefaultValueFactory = _ => "" };
        var guidance = new Option<float>("--guidance") { Description = "Guidance scale (turbo models: 0; > 1 enables guidance: classifier-free, or the guidance embedding of an LCM-distilled UNet).", DefaultValueFactory = _ => 0f };
        var tinyVae = new Option<string?>("--tiny-vae")
        {
            Description = "Decode with a tiny VAE (TAESD): PATH to its ONNX folder, or none to use one bundled with the model (taesd/). Put it after PROMPT.",
            HelpName = "PATH",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<string?>("--output", "-o") { Description = "Output PNG (several images: NAME-0.png, NAME-1.png, ...).", HelpName = "FILE" };
        var outdir = new Option<string?>("--outdir") { Description = $"Output folder (default: {OutputFiles.DefaultFolder}/).", HelpName = "DIR" };
        var style = new Option<string?>("--style") { Description = $"Style preset: {string.Join(", ", StylePresets.Default.All.Select(p => p.Id))}.", HelpName = "NAME" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (paths, seeds, timings, truncated) and nothing else on stdout." };
        var control = new Option<string[]>("--control")
        {
            Description = "A control image for the matching --controlnet: MODULE:FILE[:SCALE], MODULE = canny, scribble, lineart, invert or none (repeatable).",
            HelpName = "MODULE:FILE[:SCALE]",
            AllowMultipleArgumentsPerToken = false,
        };
        var controlnet = new Option<string[]>("--controlnet")
        {
            Description = "A ControlNet: ONNX export, diffusers folder, original .safetensors file, or a Hugging Face id org/name[@revision][:FILE] (repeatable, one per --control). The model is then built with ControlNet inputs.",
            HelpName = "MODEL",
        };

        var command = new Command("generate", "Generate images from a prompt (text-to-image, or image-to-image with --image).");
        command.Arguments.Add(prompt);
        shared.AddTo(command);
        inpaint.AddTo(command);
        foreach (var option in new Option[] { steps, size, seed, count, style, image, strength, negative, guidance, tinyVae, output, outdir, json, control, controlnet })
        {
            command.Options.Add(option);
        }

        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string? outputPath = parse.GetValue(output), outputDir = parse.GetValue(outdir);
            OutputFiles.Validate(outputPath, outputDir);
            // A known model (-m sdxl-lightning-4step) fills the settings not given on the command line.
            var preset = shared.Preset(parse);
            var wxh = ImageSize.Parse(parse.GetValue(size)) ?? (preset?.Size is int side ? (side, side) : null);
            string? imagePath = parse.GetValue(image);
            float? strengthValue = parse.GetValue(strength);
            if (strengthValue is not null && imagePath is null)
            {
                throw new InvalidRequestException("--strength", "strength applies to image-to-image only: add --image FILE.");
            }
            bool useTinyVae = parse.GetResult(tinyVae) is not null;
            // The server's style rule (StylePreset.Apply), so --style gives the same prompt as the web app and the APIs.
            var (styledPrompt, styledNegative) = StylePresets.Default.Apply(parse.GetValue(style), parse.GetValue(prompt) ?? "", parse.GetValue(negative) ?? "", "--style");
            var request = new GenerationRequest
            {
                Prompt = styledPrompt,
                NegativePrompt = styledNegative,
                Width = wxh?.Width,
                Height = wxh?.Height,
                Steps = SharedOptions.Given(parse, steps) ? parse.GetValue(steps) : preset?.Steps ?? parse.GetValue(steps),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(count),
                GuidanceScale = SharedOptions.Given(parse, guidance) ? parse.GetValue(guidance) : preset?.Guidance ?? parse.GetValue(guidance),
                Strength = strengthValue ?? 0.5f,
                UseTinyVae = useTinyVae,
            };
            request.Validate(defaultSize: 512); // every value checked before any download or model load
            var controls = (parse.GetValue(control) ?? []).Select(ControlSpec.Parse).ToList();
            var controlnets = parse.GetValue(controlnet) ?? [];
            ControlSpec.CheckPairs(controls, controlnets);
            if (imagePath is not null)
            {
                request = request with { InitImage = ImageCodec.Load(imagePath) };
            }
            var mask = inpaint.Read(parse, imagePath is not null);
            if (mask is not null)
            {
                request = request with { Mask = mask };
                request.Validate(defaultSize: 512); // the mask against the init image's size
            }
            bool asJson = parse.GetValue(json);

            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var controlnetPaths = new List<string>();
            foreach (string reference in controlnets)
            {
                controlnetPaths.Add((await ControlNetLocator.LocateAsync(reference, "--controlnet", terminal, ct).ConfigureAwait(false)).Path);
            }
            var located = await locator.LocateAsync(parse.GetValue(shared.Model), ct, shared.Loras(parse), shared.BuildPrecision(parse), shared.GraphKernels(parse), parse.GetValue(shared.Provider) ?? "cpu",
                controlNetResiduals: controls.Count > 0, strictLora: parse.GetValue(shared.LoraStrict)).ConfigureAwait(false);
            var loadOptions = new ModelLoadOptions
            {
                Runtime = shared.Runtime(parse, prepackByDefault: false),
                TinyVaePath = await locator.TinyVaeAsync(useTinyVae, parse.GetValue(tinyVae), located.Folder, ct, shared.BuildPrecision(parse)).ConfigureAwait(false),
                SkipVaeEncoder = !request.IsImageToImage,
            };

            var clock = Stopwatch.StartNew();
            using var model = await Task.Run(() => TurboModel.Load(located.Folder, loadOptions), ct).WaitAsync(ct).ConfigureAwait(false);
            var owned = new List<IDisposable>();
            using var release = new DisposeAll(owned);
            if (controls.Count > 0)
            {
                var resolve = locator.ResolveOptions(shared.BuildPrecision(parse), shared.GraphKernels(parse));
                var inputs = await Task.Run(() => ControlSpec.Load(controls, controlnetPaths, resolve, loadOptions.Runtime, owned, ct), ct).ConfigureAwait(false);
                request = request with { Controls = inputs };
            }
            double loadMs = clock.Elapsed.TotalMilliseconds;
            clock.Restart();
            var pipeline = new TurboPipeline(model);
            var result = await Task.Run(() => pipeline.Generate(request, null, ct), ct).ConfigureAwait(false);
            double generateMs = clock.Elapsed.TotalMilliseconds;

            var paths = OutputFiles.Paths(outputPath, outputDir, result.Seeds, DateTime.UtcNow); // names in UTC, like the server's kept files
            for (int i = 0; i < paths.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                ImageCodec.SavePng(result.Images[i], paths[i], GenerationMetadata.For(result, i, located.Name));
            }

            if (result.PromptTruncated)
            {
                terminal.Error.WriteLine("turbogen: warning: the prompt is longer than the text encoder's 77 tokens and was truncated.");
            }
            if (asJson)
            {
                Json.Write(terminal.Output, new GenerateReport(located.Name, located.Folder, result.Width, result.Height, request.Steps,
                    paths, result.Seeds, result.PromptTruncated,
                    new GenerateTimings(loadMs, generateMs, result.Timings.Stages.Select(s => new StageReport(s.Stage, s.Milliseconds, s.OnnxMilliseconds)).ToList())));
            }
            else
            {
                PrintHuman(terminal, located, result, paths, loadMs, generateMs);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void PrintHuman(Terminal terminal, LocatedModel model, GenerationResult result, IReadOnlyList<string> paths, double loadMs, double generateMs)
    {
        for (int i = 0; i < paths.Count; i++)
        {
            terminal.Output.WriteLine($"Saved {paths[i]} (seed {result.Seeds[i]})");
        }
        terminal.Output.WriteLine($"Model {model.Name} loaded in {Units.Milliseconds(loadMs)}; {paths.Count} image(s) {result.Width}x{result.Height} in {Units.Milliseconds(generateMs)}.");
        terminal.Output.Flush();
        var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("Stage").NoWrap()).AddColumn(new TableColumn("Time").RightAligned()).AddColumn(new TableColumn("ONNX Runtime").RightAligned());
        foreach (var stage in result.Timings.Stages)
        {
            table.AddRow(Markup.Escape(stage.Stage), Units.Milliseconds(stage.Milliseconds), stage.OnnxMilliseconds > 0 ? Units.Milliseconds(stage.OnnxMilliseconds) : "");
        }
        table.AddRow("[bold]total[/]", $"[bold]{Units.Milliseconds(result.Timings.TotalMilliseconds)}[/]", Units.Milliseconds(result.Timings.OnnxMilliseconds));
        terminal.Out.Write(table);
    }
}

/// <summary>Disposes the ControlNets a generation loaded.</summary>
internal sealed class DisposeAll(List<IDisposable> items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items) item.Dispose();
    }
}

/// <summary>The <c>generate --json</c> object.</summary>
internal sealed record GenerateReport(string Model, string ModelPath, int Width, int Height, int Steps,
    IReadOnlyList<string> Paths, IReadOnlyList<long> Seeds, bool Truncated, GenerateTimings Timings);

internal sealed record GenerateTimings(double LoadMs, double GenerateMs, IReadOnlyList<StageReport> Stages);

internal sealed record StageReport(string Stage, double Ms, double OnnxMs);

using System.CommandLine;
using System.Diagnostics;
using TurboGen.Hub;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Upscaling;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen upscale IMAGE</c>: enlarges an image ×2 or ×4 with an ESRGAN-family model (<c>--model</c>, built into ONNX
/// once and cached; tiled, so any size runs in bounded memory) or with Lanczos when no model is given; with
/// <c>--refine PROMPT</c> the result is then refined by image-to-image with the turbo model (A1111's hires fix). Sizes are
/// checked from the image header before anything is decoded or loaded.
/// </summary>
internal static class UpscaleCommand
{
    public static Command Create(Terminal terminal)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image to upscale (PNG, JPEG, WebP, ...)." };
        var scale = new Option<int>("--scale", "-s") { Description = "Upscaling factor: 2 or 4.", DefaultValueFactory = _ => 4 };
        var model = new Option<string?>("--model", "-m")
        {
            Description = "ESRGAN-family model: a .safetensors (Real-ESRGAN key names, params_ema accepted) or .onnx file, or a Hugging Face id org/name[@revision][:FILE]. Default: Lanczos resampling.",
            HelpName = "FILE_OR_HUB_ID",
        };
        var refine = new Option<string?>("--refine") { Description = "Refine the upscaled image with the turbo model and this prompt (image-to-image, hires fix).", HelpName = "PROMPT" };
        var refineModel = new Option<string?>("--refine-model") { Description = $"Turbo model for --refine (default {ModelLocator.DefaultModel}).", HelpName = "MODEL" };
        var strength = new Option<float>("--strength") { Description = "Refine strength in (0, 1].", DefaultValueFactory = _ => 0.3f };
        var steps = new Option<int>("--steps") { Description = "Refine steps actually run (1–2 for turbo models).", DefaultValueFactory = _ => 2 };
        var seed = new Option<long?>("--seed") { Description = "Refine seed (default: random)." };
        var tile = new Option<int>("--tile") { Description = "ESRGAN tile size in input pixels (memory grows with its square).", DefaultValueFactory = _ => TileOptions.Default.Tile };
        var provider = new Option<string>("--provider") { Description = "ONNX Runtime execution provider.", DefaultValueFactory = _ => Flavour.DefaultProvider };
        provider.AcceptOnlyFromAmong([.. RuntimeOptions.KnownProviders]);
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (0 = physical cores).", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--output", "-o") { Description = $"Output PNG (default: {OutputFiles.DefaultFolder}/NAME-xSCALE.png).", HelpName = "FILE" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (path, sizes, upscaler, timings) and nothing else on stdout." };

        var command = new Command("upscale", "Upscale an image ×2 or ×4 (ESRGAN-family model or Lanczos), optionally refined with the turbo model.");
        command.Arguments.Add(image);
        foreach (var option in new Option[] { scale, model, refine, refineModel, strength, steps, seed, tile, provider, threads, output, json })
        {
            command.Options.Add(option);
        }

        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            string imagePath = parse.GetValue(image)!;
            int factor = parse.GetValue(scale);
            if (factor is not (2 or 4))
            {
                throw new InvalidRequestException("--scale", $"the factor is 2 or 4 (got {factor}).");
            }
            string? prompt = parse.GetValue(refine);
            int tileSide = parse.GetValue(tile);
            var tiles = new TileOptions { Tile = tileSide, Overlap = Math.Clamp((tileSide - 4) / 4, 0, TileOptions.Default.Overlap), Padding = TileOptions.Default.Padding };
            tiles.Validate();
            var hires = new HiresOptions { Prompt = prompt ?? "", Steps = parse.GetValue(steps), Strength = parse.GetValue(strength), Seed = parse.GetValue(seed) };
            if (prompt is not null) hires.Validate();
            string outputPath = parse.GetValue(output) ?? Path.Combine(OutputFiles.DefaultFolder, $"{Path.GetFileNameWithoutExtension(imagePath)}-x{factor}.png");

            var input = LoadChecked(imagePath);
            var (width, height) = UpscaleLimits.Target(input.Width, input.Height, factor, "IMAGE", "--scale");
            if (prompt is not null) (width, height) = HiresRefine.RefineSize(width, height);
            var runtime = new RuntimeOptions { Provider = parse.GetValue(provider) ?? "cpu", Threads = parse.GetValue(threads), PrepackWeights = false };

            var clock = Stopwatch.StartNew();
            IUpscaler upscaler = LanczosUpscaler.Instance;
            EsrganModel? esrgan = null;
            try
            {
                if (parse.GetValue(model) is { } reference)
                {
                    string file = await UpscalerLocator.LocateAsync(reference, "--model", terminal, ct).ConfigureAwait(false);
                    esrgan = await Task.Run(() => EsrganModel.Load(file, runtime, progress: new StderrProgress(terminal.Error)), ct).ConfigureAwait(false);
                    upscaler = new EsrganUpscaler(esrgan, tiles);
                }
                double loadMs = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                var upscaled = await Task.Run(() => upscaler.Upscale(input, width, height, ct), ct).ConfigureAwait(false);
                double upscaleMs = clock.Elapsed.TotalMilliseconds;
                double? refineMs = null;
                string? refineModelName = null;
                if (prompt is not null)
                {
                    var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
                    var located = await locator.LocateAsync(parse.GetValue(refineModel), ct, provider: runtime.Provider).ConfigureAwait(false);
                    using var turbo = await Task.Run(() => TurboModel.Load(located.Folder, new ModelLoadOptions { Runtime = runtime }), ct).ConfigureAwait(false);
                    clock.Restart();
                    upscaled = await Task.Run(() => HiresRefine.Refine(new TurboPipeline(turbo), upscaled, hires, ct), ct).ConfigureAwait(false);
                    refineMs = clock.Elapsed.TotalMilliseconds;
                    refineModelName = located.Name;
                }
                ImageCodec.SavePng(upscaled, outputPath);
                if (parse.GetValue(json))
                {
                    Json.Write(terminal.Output, new UpscaleReport(outputPath, input.Width, input.Height, upscaled.Width, upscaled.Height, upscaler.Name,
                        refineModelName, loadMs, upscaleMs, refineMs));
                }
                else
                {
                    terminal.Output.WriteLine($"Saved {outputPath} ({input.Width}x{input.Height} → {upscaled.Width}x{upscaled.Height}, {upscaler.Name}{(refineModelName is null ? "" : ", refined with " + refineModelName)})");
                    terminal.Output.WriteLine($"Upscaled in {Units.Milliseconds(upscaleMs)}{(refineMs is { } r ? $", refined in {Units.Milliseconds(r)}" : "")}.");
                }
                return ExitCodes.Ok;
            }
            finally
            {
                esrgan?.Dispose();
            }
        });
        return command;
    }

    /// <summary>Reads the image, refusing one too large to upscale from its header (before decoding).</summary>
    private static RgbImage LoadChecked(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidRequestException("IMAGE", $"cannot read {path}: {e.Message}");
        }
        int width, height;
        try
        {
            (width, height, _) = ImageCodec.Probe(data);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException("IMAGE", $"{path}: {e.Message}");
        }
        UpscaleLimits.CheckInput(width, height, "IMAGE");
        try
        {
            return ImageCodec.Decode(data);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException("IMAGE", $"{path}: {e.Message}");
        }
    }
}

/// <summary>The <c>upscale --json</c> object.</summary>
internal sealed record UpscaleReport(string Path, int InputWidth, int InputHeight, int Width, int Height, string Upscaler, string? RefineModel,
    double LoadMs, double UpscaleMs, double? RefineMs);

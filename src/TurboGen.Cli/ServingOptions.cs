using System.CommandLine;
using TurboGen.Server;

namespace TurboGen.Cli;

/// <summary>
/// The options <c>serve</c> and <c>worker</c> share about what is served besides the model: the tiny VAE, the names the model
/// answers to, ESRGAN upscalers and ControlNets, with how they are located (downloaded, built). Each command gets its own instances.
/// </summary>
internal sealed class ServingOptions
{
    public Option<string?> TinyVae { get; } = new("--tiny-vae")
    {
        Description = "Tiny VAE (TAESD) ONNX folder for live previews; none = one bundled with the model (taesd/).",
        HelpName = "PATH",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public Option<string[]> ServedNames { get; } = new("--served-model-name")
    {
        Description = "Names the model answers to in API requests and /v1/models (a worker: registers under in the job queue), the first reported as its id (default: its Hub id, short name and folder name).",
        HelpName = "NAME",
        AllowMultipleArgumentsPerToken = true,
    };

    public Option<string[]> Upscalers { get; } = new("--upscaler")
    {
        Description = "ESRGAN-family upscaler for the upscaling APIs and the hires fix: a .safetensors (Real-ESRGAN key names) or .onnx file, or a Hugging Face id org/name[@revision][:FILE] (repeatable; Lanczos is always there). A gateway lists its workers' upscalers.",
        HelpName = "FILE_OR_HUB_ID",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<string[]> ControlNets { get; } = new("--controlnet")
    {
        Description = "A ControlNet for the A1111 and native APIs: ONNX export, diffusers folder, original .safetensors file, or a Hugging Face id org/name[@revision][:FILE] (repeatable). The model is then built with ControlNet inputs. A gateway lists its workers' ControlNets and sends jobs naming one to a worker that has it.",
        HelpName = "MODEL",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { TinyVae, ServedNames, Upscalers, ControlNets }) command.Options.Add(option);
    }

    /// <summary>The --controlnet references, found (downloaded if needed) and named; two with one name are refused.</summary>
    public async Task<List<ServedControlNet>> LocateControlNetsAsync(ParseResult parse, Terminal terminal, CancellationToken ct)
    {
        var served = new List<ServedControlNet>();
        foreach (string reference in parse.GetValue(ControlNets) ?? [])
        {
            var found = await ControlNetLocator.LocateAsync(reference, "--controlnet", terminal, ct).ConfigureAwait(false);
            if (served.Any(c => c.Name.Equals(found.Name, StringComparison.OrdinalIgnoreCase)))
            {
                throw new InvalidRequestException("--controlnet", $"Two ControlNets are named '{found.Name}' (from --controlnet {reference}); give each a different file or folder.");
            }
            served.Add(new ServedControlNet(found.Name, found.Path));
        }
        return served;
    }

    /// <summary>Builds each located ControlNet into ONNX here (with progress on stderr), so the server or worker only loads ONNX files.</summary>
    public static async Task<List<ServedControlNet>> BuildControlNetsAsync(IReadOnlyList<ServedControlNet> located, TurboGen.Building.ModelResolveOptions resolve, CancellationToken ct)
    {
        var built = new List<ServedControlNet>();
        foreach (var c in located)
        {
            string onnx = await Task.Run(() => TurboGen.Building.ControlNetResolver.Resolve(c.Path, resolve, ct), ct).ConfigureAwait(false);
            built.Add(c with { Path = onnx });
        }
        return built;
    }

    /// <summary>The --upscaler references as local files (downloaded if needed).</summary>
    public async Task<List<string>> LocateUpscalersAsync(ParseResult parse, Terminal terminal, CancellationToken ct)
    {
        var paths = new List<string>();
        foreach (string reference in parse.GetValue(Upscalers) ?? [])
        {
            paths.Add(await UpscalerLocator.LocateAsync(reference, "--upscaler", terminal, ct).ConfigureAwait(false));
        }
        return paths;
    }

    /// <summary>The tiny VAE folder (--tiny-vae, or the model's own taesd/), built if needed.</summary>
    public Task<string?> TinyVaeAsync(ParseResult parse, ModelLocator locator, string modelFolder, TurboGen.Graphs.BuildPrecision precision, CancellationToken ct) =>
        locator.TinyVaeAsync(parse.GetResult(TinyVae) is not null, parse.GetValue(TinyVae), modelFolder, ct, precision);
}

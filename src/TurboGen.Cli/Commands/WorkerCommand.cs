using System.CommandLine;
using TurboGen.Hub;
using TurboGen.Server;
using TurboGen.Server.Scaling;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen worker --queue redis://HOST:PORT -m MODEL</c>: resolves and loads the model like <c>serve</c>, then takes jobs
/// for it from the Redis job queue (<see cref="QueueWorkerHost"/>) until Ctrl-C / SIGTERM (exit 0).
/// </summary>
internal static class WorkerCommand
{
    public static Command Create(Terminal terminal)
    {
        var shared = new SharedOptions();
        var queue = new Option<string>("--queue")
        {
            Description = "The Redis job queue to serve: redis://HOST:PORT (the gateways' serve --queue).",
            HelpName = "redis://HOST:PORT",
            Required = true,
        };
        var tinyVae = new Option<string?>("--tiny-vae")
        {
            Description = "Tiny VAE (TAESD) ONNX folder for live previews; none = one bundled with the model (taesd/).",
            HelpName = "PATH",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var servedNames = new Option<string[]>("--served-model-name")
        {
            Description = "Names the model is registered under in the queue, the first its id (default: its Hub id, short name and folder name).",
            HelpName = "NAME",
            AllowMultipleArgumentsPerToken = true,
        };
        var upscalers = new Option<string[]>("--upscaler")
        {
            Description = "ESRGAN-family upscaler jobs may name (as on serve; give the gateways the same list).",
            HelpName = "FILE_OR_HUB_ID",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var controlNets = new Option<string[]>("--controlnet")
        {
            Description = "ControlNet ONNX file or folder (with model.onnx) jobs may name, by file or folder name (repeatable).",
            HelpName = "PATH",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("worker", "Take generation jobs from a Redis job queue (the GPU side of serve --queue; docs/SCALING.md).");
        shared.AddTo(command);
        foreach (var option in new Option[] { queue, tinyVae, servedNames, upscalers, controlNets })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            var address = QueueAddress.Parse(parse.GetValue(queue)!);
            foreach (string path in parse.GetValue(controlNets) ?? [])
            {
                if (!File.Exists(path) && !File.Exists(Path.Combine(path, "model.onnx")))
                    throw new InvalidRequestException("--controlnet", $"--controlnet {path}: no such ONNX file, nor a folder with model.onnx.");
            }
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            string provider = parse.GetValue(shared.Provider) ?? "cpu";
            var located = await locator.LocateAsync(parse.GetValue(shared.Model), ct, shared.Loras(parse), shared.BuildPrecision(parse), shared.GraphKernels(parse), provider).ConfigureAwait(false);
            var upscalerPaths = new List<string>();
            foreach (string reference in parse.GetValue(upscalers) ?? [])
            {
                upscalerPaths.Add(await UpscalerLocator.LocateAsync(reference, "--upscaler", terminal, ct).ConfigureAwait(false));
            }
            var options = new ServerOptions
            {
                ModelPath = located.Folder,
                ModelId = located.Name,
                ServedModelNames = parse.GetValue(servedNames) ?? [],
                UpscalerPaths = upscalerPaths,
                Runtime = shared.Runtime(parse, prepackByDefault: true),
                TinyVaePath = await locator.TinyVaeAsync(parse.GetResult(tinyVae) is not null, parse.GetValue(tinyVae), located.Folder, ct, shared.BuildPrecision(parse)).ConfigureAwait(false),
            };
            try
            {
                await QueueWorkerHost.RunAsync(options, address, new QueueWorkerSettings(), parse.GetValue(controlNets) ?? [],
                    line => terminal.Error.WriteLine($"turbogen worker: {line}"), ct,
                    id => terminal.Error.WriteLine($"turbogen: worker {id} serving {located.Name} from the job queue {address} (Ctrl-C to stop)")).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: a clean stop
            }
            terminal.Error.WriteLine("turbogen: worker stopped.");
            return ExitCodes.Ok;
        });
        return command;
    }
}

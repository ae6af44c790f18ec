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
        var serving = new ServingOptions();
        var queue = new Option<string>("--queue")
        {
            Description = "The Redis job queue to serve: redis://HOST:PORT (the gateways' serve --queue).",
            HelpName = "redis://HOST:PORT",
            Required = true,
        };
        var command = new Command("worker", "Take generation jobs from a Redis job queue (the GPU side of serve --queue; docs/SCALING.md).");
        shared.AddTo(command);
        serving.AddTo(command);
        command.Options.Add(queue);
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            var address = QueueAddress.Parse(parse.GetValue(queue)!);
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            string provider = parse.GetValue(shared.Provider) ?? "cpu";
            var servedControlNets = await serving.LocateControlNetsAsync(parse, terminal, ct).ConfigureAwait(false);
            var located = await locator.LocateAsync(parse.GetValue(shared.Model), ct, shared.Loras(parse), shared.BuildPrecision(parse), shared.GraphKernels(parse), provider,
                controlNetResiduals: servedControlNets.Count > 0, strictLora: parse.GetValue(shared.LoraStrict)).ConfigureAwait(false);
            servedControlNets = await ServingOptions.BuildControlNetsAsync(servedControlNets, locator.ResolveOptions(shared.BuildPrecision(parse), shared.GraphKernels(parse)), ct).ConfigureAwait(false);
            var upscalerPaths = await serving.LocateUpscalersAsync(parse, terminal, ct).ConfigureAwait(false);
            var options = new ServerOptions
            {
                ModelPath = located.Folder,
                ModelId = located.Name,
                ServedModelNames = parse.GetValue(serving.ServedNames) ?? [],
                UpscalerPaths = upscalerPaths,
                ControlNets = servedControlNets,
                Runtime = shared.Runtime(parse, prepackByDefault: true),
                TinyVaePath = await serving.TinyVaeAsync(parse, locator, located.Folder, shared.BuildPrecision(parse), ct).ConfigureAwait(false),
            };
            try
            {
                await QueueWorkerHost.RunAsync(options, address, new QueueWorkerSettings(),
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

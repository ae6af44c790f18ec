using System.CommandLine;
using TurboGen.Hub;
using TurboGen.Server;
using TurboGen.Server.Policy;

namespace TurboGen.Cli.Commands;

/// <summary>
/// <c>turbogen serve</c>: resolves the model like <c>generate</c> (downloading it if needed), then runs
/// <see cref="TurboGenServer"/> until Ctrl-C / SIGTERM, which stops it cleanly (exit 0).
/// </summary>
internal static class ServeCommand
{
    private const long Megabyte = 1024 * 1024;

    public static Command Create(Terminal terminal)
    {
        var shared = new SharedOptions();
        var serving = new ServingOptions();
        var host = new Option<string>("--host") { Description = "Address to bind (anything but loopback requires --api-key).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port.", DefaultValueFactory = _ => 7860 };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535) result.AddError("--port must be between 0 and 65535.");
        });
        var apiKey = new Option<string?>("--api-key") { Description = "Require this key (Authorization: Bearer KEY); also TURBOGEN_API_KEY.", HelpName = "KEY" };
        var outdir = new Option<string>("--outdir") { Description = "Where finished images are saved.", DefaultValueFactory = _ => "outputs", HelpName = "DIR" };
        var historyImages = new Option<int>("--history-max-images")
        {
            Description = "Kept images per history (each browser's, and the shared one of API clients); the oldest go first, favourites last. 0 = no limit.",
            DefaultValueFactory = _ => new HistoryRetention().MaxImagesPerHistory,
            HelpName = "N",
        };
        var historyMb = new Option<long>("--history-max-mb")
        {
            Description = "Megabytes of kept images per history. 0 = no limit.",
            DefaultValueFactory = _ => new HistoryRetention().MaxBytesPerHistory / Megabyte,
            HelpName = "MB",
        };
        var outdirMb = new Option<long>("--outdir-max-mb")
        {
            Description = "Megabytes of kept images in the whole output folder (all histories). 0 = no limit.",
            DefaultValueFactory = _ => new HistoryRetention().MaxBytesTotal / Megabyte,
            HelpName = "MB",
        };
        historyImages.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--history-max-images must be 0 (no limit) or more."); });
        foreach (var limit in new[] { historyMb, outdirMb })
        {
            limit.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 0) r.AddError($"{limit.Name} must be 0 (no limit) or more."); });
        }

        var queue = new Option<string?>("--queue")
        {
            Description = "Run as a gateway of the Redis job queue at redis://HOST:PORT: load no model, send every job to the workers of -m (turbogen worker; docs/SCALING.md).",
            HelpName = "redis://HOST:PORT",
        };

        var command = new Command("serve", "Run the web app and the HTTP APIs (real-time, OpenAI- and AUTOMATIC1111-compatible).");
        shared.AddTo(command);
        serving.AddTo(command);
        foreach (var option in new Option[] { host, port, apiKey, outdir, historyImages, historyMb, outdirMb, queue })
        {
            command.Options.Add(option);
        }
        command.SetGuardedAction(terminal, async (parse, ct) =>
        {
            // A start that must be refused is refused before anything is downloaded, built, bound or printed.
            var bind = new ServerOptions { ModelPath = ".", Host = parse.GetValue(host) ?? "127.0.0.1", Port = parse.GetValue(port), ApiKey = parse.GetValue(apiKey) };
            bind.Validate(TurboGenServer.EffectiveApiKey(bind));
            if (parse.GetValue(queue) is { } queueUrl)
            {
                foreach (var option in new[] { serving.ControlNets, serving.Upscalers })
                {
                    if (parse.GetValue(option) is { Length: > 0 })
                        throw new InvalidRequestException(option.Name, $"A gateway (--queue) loads no model: give {option.Name} to `turbogen worker` instead (the gateway lists its workers').");
                }
                return await GatewayAsync(terminal, parse, bind, Server.Scaling.QueueAddress.Parse(queueUrl), parse.GetValue(shared.Model), parse.GetValue(outdir),
                    parse.GetValue(serving.ServedNames), History(parse), ct).ConfigureAwait(false);
            }
            var locator = new ModelLocator(HubOptions.FromEnvironment(), terminal, showProgress: true);
            var servedControlNets = await serving.LocateControlNetsAsync(parse, terminal, ct).ConfigureAwait(false);
            var located = await locator.LocateAsync(parse.GetValue(shared.Model), ct, shared.Loras(parse), shared.BuildPrecision(parse), shared.GraphKernels(parse), parse.GetValue(shared.Provider) ?? "cpu",
                controlNetResiduals: servedControlNets.Count > 0, strictLora: parse.GetValue(shared.LoraStrict)).ConfigureAwait(false);
            servedControlNets = await ServingOptions.BuildControlNetsAsync(servedControlNets, locator.ResolveOptions(shared.BuildPrecision(parse), shared.GraphKernels(parse)), ct).ConfigureAwait(false);
            var upscalerPaths = await serving.LocateUpscalersAsync(parse, terminal, ct).ConfigureAwait(false);
            var options = new ServerOptions
            {
                UpscalerPaths = upscalerPaths,
                ControlNets = servedControlNets,
                ModelPath = located.Folder,
                ModelId = located.Name,
                Host = parse.GetValue(host) ?? "127.0.0.1",
                Port = parse.GetValue(port),
                Runtime = shared.Runtime(parse, prepackByDefault: true),
                TinyVaePath = await serving.TinyVaeAsync(parse, locator, located.Folder, shared.BuildPrecision(parse), ct).ConfigureAwait(false),
                ApiKey = parse.GetValue(apiKey),
                OutputDir = Path.GetFullPath(parse.GetValue(outdir) ?? "outputs"),
                ServedModelNames = parse.GetValue(serving.ServedNames) ?? [],
                History = History(parse),
            };
            try
            {
                // Said once Kestrel listens, with the addresses it bound (IPv6 in brackets, the real port for --port 0).
                await TurboGenServer.RunAsync(options, ct, addresses =>
                    terminal.Error.WriteLine($"turbogen: serving {located.Name} on {string.Join(", ", addresses)} (Ctrl-C to stop)")).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: a clean stop
            }
            terminal.Error.WriteLine("turbogen: server stopped.");
            return ExitCodes.Ok;
        });
        HistoryRetention History(ParseResult parse) => new()
        {
            MaxImagesPerHistory = parse.GetValue(historyImages),
            MaxBytesPerHistory = parse.GetValue(historyMb) * Megabyte,
            MaxBytesTotal = parse.GetValue(outdirMb) * Megabyte,
        };
        return command;
    }

    /// <summary><c>serve --queue</c>: a gateway loads no model; <paramref name="model"/> names the workers' model (any name they registered).</summary>
    private static async Task<int> GatewayAsync(Terminal terminal, ParseResult parse, ServerOptions bind, Server.Scaling.QueueAddress queue, string? model, string? outdir,
        string[]? servedNames, HistoryRetention history, CancellationToken ct)
    {
        string name = servedNames is { Length: > 0 } ? servedNames[0] : string.IsNullOrWhiteSpace(model) ? ModelLocator.DefaultModel : model.Trim();
        var options = bind with
        {
            Queue = queue,
            QueueModel = name,
            ModelId = name,
            OutputDir = Path.GetFullPath(outdir ?? "outputs"),
            History = history,
        };
        try
        {
            await TurboGenServer.RunAsync(options, ct, addresses =>
                terminal.Error.WriteLine($"turbogen: gateway for {name} (job queue {queue}) on {string.Join(", ", addresses)} (Ctrl-C to stop)")).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        terminal.Error.WriteLine("turbogen: server stopped.");
        return ExitCodes.Ok;
    }
}

using System.CommandLine;
using TurboGen.Models;

namespace TurboGen.Cli;

/// <summary>
/// The options shared by <c>generate</c>, <c>serve</c> and <c>bench</c> (model, execution provider, threads, tiny VAE).
/// Each command gets its own instances.
/// </summary>
internal sealed class SharedOptions
{
    public Option<string?> Model { get; } = new("--model", "-m")
    {
        Description = $"Hugging Face id (org/name[@revision]), local ONNX model folder, or checkpoint. Default: {ModelLocator.DefaultModel}.",
        HelpName = "MODEL",
    };

    public Option<string> Provider { get; } = new("--provider")
    {
        Description = "ONNX Runtime execution provider.",
        DefaultValueFactory = _ => "cpu",
    };

    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "Intra-op threads (0 = physical cores).",
        DefaultValueFactory = _ => 0,
    };

    public SharedOptions()
    {
        Provider.AcceptOnlyFromAmong([.. RuntimeOptions.KnownProviders]);
        Threads.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0) result.AddError("--threads must be 0 or more.");
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Provider);
        command.Options.Add(Threads);
    }

    public RuntimeOptions Runtime(ParseResult parse) => new()
    {
        Provider = parse.GetValue(Provider) ?? "cpu",
        Threads = parse.GetValue(Threads),
    };
}

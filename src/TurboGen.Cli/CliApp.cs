using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using TurboGen.Cli.Commands;

namespace TurboGen.Cli;

/// <summary>
/// The <c>turbogen</c> command line: <c>generate</c>, <c>upscale</c>, <c>pull</c>, <c>models</c>, <c>serve</c>, <c>convert</c>, <c>merge</c>, <c>bench</c> and <c>doctor</c>.
/// <para>How it works: System.CommandLine parses the arguments (help, completions, typo suggestions); a parse error
/// prints one line on stderr and exits 2 without running anything. Every command's action runs inside
/// <see cref="CommandExtensions.SetGuardedAction"/>, which maps exceptions to an exit code and a one-line message
/// (<see cref="ErrorReporter"/>). Ctrl-C and SIGTERM cancel one shared token that the pipeline, the Hub client and
/// the server honour; files are only ever written atomically, so a cancelled run leaves no partial output
/// (exit 130). A second Ctrl-C terminates at once.</para>
/// </summary>
internal static class CliApp
{
    /// <summary>Shows stack traces for errors.</summary>
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show stack traces for errors.",
        Recursive = true,
    };

    public static RootCommand BuildRootCommand(Terminal terminal)
    {
        var root = new RootCommand("turbogen: real-time SDXL-Turbo / SD-Turbo image generation on ONNX Runtime.");
        root.Options.Add(Verbose);
        root.Subcommands.Add(GenerateCommand.Create(terminal));
        root.Subcommands.Add(UpscaleCommand.Create(terminal));
        root.Subcommands.Add(PullCommand.Create(terminal));
        root.Subcommands.Add(ModelsCommand.Create(terminal));
        root.Subcommands.Add(ServeCommand.Create(terminal));
        root.Subcommands.Add(WorkerCommand.Create(terminal));
        root.Subcommands.Add(ConvertCommand.Create(terminal));
        root.Subcommands.Add(MergeCommand.Create(terminal));
        root.Subcommands.Add(BenchCommand.Create(terminal));
        root.Subcommands.Add(DoctorCommand.Create(terminal));
        return root;
    }

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Terminal.CreateDefault());

    public static async Task<int> RunAsync(string[] args, Terminal terminal)
    {
        using var cancel = new CancellationTokenSource();
        void OnCancelKey(object? sender, ConsoleCancelEventArgs e)
        {
            if (!cancel.IsCancellationRequested)
            {
                e.Cancel = true; // first Ctrl-C: cancel cleanly; a second one ends the process
                terminal.Error.WriteLine("turbogen: cancelling (press Ctrl-C again to exit immediately)...");
                cancel.Cancel();
            }
        }
        Console.CancelKeyPress += OnCancelKey;
        using var sigterm = RegisterSigterm(cancel);
        try
        {
            var root = BuildRootCommand(terminal);
            var parsed = root.Parse(args);
            if (parsed.Action is ParseErrorAction)
            {
                foreach (var error in parsed.Errors)
                {
                    terminal.Error.WriteLine($"turbogen: error: {error.Message}");
                }
                terminal.Error.WriteLine($"turbogen: see '{CommandPath(parsed)} --help'.");
                return ExitCodes.InvalidInput;
            }
            var config = new InvocationConfiguration
            {
                Output = terminal.Output,
                Error = terminal.Error,
                ProcessTerminationTimeout = null, // we own Ctrl-C handling (above)
                EnableDefaultExceptionHandler = false,
            };
            return await parsed.InvokeAsync(config, cancel.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= OnCancelKey;
        }
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, result.Command is RootCommand ? "turbogen" : result.Command.Name);
        }
        return string.Join(' ', names);
    }

    private static PosixSignalRegistration? RegisterSigterm(CancellationTokenSource cancel)
    {
        try
        {
            return PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                cancel.Cancel();
            });
        }
        catch (PlatformNotSupportedException)
        {
            return null;
        }
    }
}

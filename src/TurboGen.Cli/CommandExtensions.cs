using System.CommandLine;

namespace TurboGen.Cli;

/// <summary>Runs a command's action with the CLI's error policy (see <see cref="ErrorReporter"/>).</summary>
internal static class CommandExtensions
{
    public static void SetGuardedAction(this Command command, Terminal terminal, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await action(parseResult, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return ErrorReporter.Report(e, parseResult.GetValue(CliApp.Verbose), terminal.Error, cancellationToken.IsCancellationRequested);
            }
        });
    }
}

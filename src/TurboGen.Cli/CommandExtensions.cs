using System.CommandLine;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Runtime;

namespace TurboGen.Cli;

/// <summary>
/// Runs a command's action with the CLI's error policy (see <see cref="ErrorReporter"/>). ONNX Runtime's own log lines
/// are shown with <c>--verbose</c> only (from warnings up); otherwise its failures reach the user once, as our one-line message.
/// </summary>
internal static class CommandExtensions
{
    public static void SetGuardedAction(this Command command, Terminal terminal, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            SessionFactory.NativeLogLevel = parseResult.GetValue(CliApp.Verbose) ? OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING : OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
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

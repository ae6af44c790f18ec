using Spectre.Console;

namespace TurboGen.Cli;

/// <summary>
/// Where the CLI writes: results (paths, tables, JSON) go to stdout, progress and diagnostics to stderr, so
/// <c>--json</c> output stays machine-readable. Plain lines and JSON are written to the raw writers (Spectre would
/// wrap long lines); tables and progress bars go through the Spectre consoles.
/// </summary>
internal sealed class Terminal(TextWriter output, TextWriter error)
{
    /// <summary>Line width for tables when stdout is a file or pipe (Spectre would assume 80 columns and wrap).</summary>
    private const int RedirectedWidth = 160;

    public TextWriter Output { get; } = output;
    public TextWriter Error { get; } = error;

    /// <summary>Spectre console on stdout (tables).</summary>
    public IAnsiConsole Out { get; } = CreateOut(output);

    /// <summary>Spectre console on stderr (progress bars).</summary>
    public IAnsiConsole Err { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });

    /// <summary>True when stderr is a terminal that can redraw progress bars in place.</summary>
    public bool InteractiveErr => Err.Profile.Capabilities.Interactive && !Console.IsErrorRedirected;

    public static Terminal CreateDefault() => new(Console.Out, Console.Error);

    private static IAnsiConsole CreateOut(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (!console.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            console.Profile.Width = RedirectedWidth;
        }
        return console;
    }
}

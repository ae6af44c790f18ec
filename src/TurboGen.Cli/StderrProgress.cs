namespace TurboGen.Cli;

/// <summary>Writes each progress line (model build, conversion) to stderr as it happens, synchronously and in order.</summary>
internal sealed class StderrProgress(TextWriter error) : IProgress<string>
{
    public void Report(string value)
    {
        lock (error)
        {
            error.WriteLine($"turbogen: {value}");
        }
    }
}

namespace TurboGen.Cli.Realtime;

/// <summary>
/// What both live benchmarks (<see cref="RealtimeBenchmark"/> typing, <see cref="CameraBenchmark"/> camera) share: the server
/// they connect to and the pictures they ask for.
/// </summary>
public abstract record LiveBenchmarkOptions
{
    /// <summary>The server's base URL (http://127.0.0.1:7860).</summary>
    public required Uri Server { get; init; }

    /// <summary>The server's API key, when it has one.</summary>
    public string? ApiKey { get; init; }

    public int Width { get; init; } = 512;
    public int Height { get; init; } = 512;
    public int Steps { get; init; } = 1;
    public long Seed { get; init; } = 42;
}

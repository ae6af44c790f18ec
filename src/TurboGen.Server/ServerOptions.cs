using TurboGen.Models;

namespace TurboGen.Server;

/// <summary>Everything <c>turbogen serve</c> configures.</summary>
public sealed record ServerOptions
{
    /// <summary>Local ONNX model folder to load (the CLI resolves Hub ids and checkpoints to one).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Name reported by the APIs (e.g. "stabilityai/sdxl-turbo"); defaults to the folder name.</summary>
    public string? ModelId { get; init; }

    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 7860;
    public RuntimeOptions Runtime { get; init; } = new();
    public string? TinyVaePath { get; init; }

    /// <summary>Required when binding to anything but loopback (also read from TURBOGEN_API_KEY).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Where finished (non-live) images are saved with their metadata.</summary>
    public string OutputDir { get; init; } = "outputs";

    /// <summary>How many kept images (and bytes) each history and the whole output folder hold; the oldest go first.</summary>
    public Policy.HistoryRetention History { get; init; } = new();

    public int QueueCapacity { get; init; } = 32;

    /// <summary>How long the input must stay unchanged before a live frame is refined with the full VAE.</summary>
    public TimeSpan RefineDelay { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Run one generation at start-up so the first user request is fast (health reports ready after it).</summary>
    public bool WarmUp { get; init; } = true;

    public bool IsLoopback => Host is "127.0.0.1" or "localhost" or "::1" or "[::1]";
}

using TurboGen.Runtime;

namespace TurboGen.Server;

/// <summary>Everything <c>turbogen serve</c> configures.</summary>
public sealed record ServerOptions
{
    /// <summary>Local ONNX model folder to load (the CLI resolves Hub ids and checkpoints to one).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Name reported by the APIs (e.g. "stabilityai/sdxl-turbo"); defaults to the folder name.</summary>
    public string? ModelId { get; init; }

    /// <summary>
    /// <c>--served-model-name</c>: the names the model answers to, the first reported as its id. Empty: the id, the Hub id
    /// and their short names, and the folder name (see <see cref="Policy.ModelNames"/>).
    /// </summary>
    public IReadOnlyList<string> ServedModelNames { get; init; } = [];

    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 7860;
    public RuntimeOptions Runtime { get; init; } = new();
    public string? TinyVaePath { get; init; }

    /// <summary>ESRGAN-family upscalers to load (<c>serve --upscaler</c>): .safetensors (built and cached) or .onnx files.</summary>
    public IReadOnlyList<string> UpscalerPaths { get; init; } = [];

    /// <summary>
    /// ControlNets the A1111 and native APIs may use (<c>serve --controlnet</c>), each under a name requests give as <c>model</c>:
    /// an ONNX export, a diffusers folder or an original single file (built once into the cache by <c>Building.ControlNetResolver</c>).
    /// The model must then be built with the UNet's ControlNet residual inputs.
    /// </summary>
    public IReadOnlyList<ServedControlNet> ControlNets { get; init; } = [];

    /// <summary>Required when binding to anything but loopback (also read from TURBOGEN_API_KEY).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Where finished (non-live) images are saved with their metadata.</summary>
    public string OutputDir { get; init; } = "outputs";

    /// <summary>How many kept images (and bytes) each history and the whole output folder hold; the oldest go first.</summary>
    public Policy.HistoryRetention History { get; init; } = new();

    public int QueueCapacity { get; init; } = 32;

    /// <summary>
    /// <c>serve --queue redis://HOST:PORT</c>: run as a gateway that loads no model and submits every job to the Redis job queue
    /// of the model named <see cref="QueueModel"/> (docs/SCALING.md). Null: one process, the model loaded here.
    /// With a queue, <see cref="QueueCapacity"/> bounds the model's pending entries (waiting or running, all gateways).
    /// </summary>
    public Scaling.QueueAddress? Queue { get; init; }

    /// <summary>The model a gateway serves from the queue: any name a worker registered it under (its id, Hub id or short name).</summary>
    public string QueueModel { get; init; } = "";

    /// <summary>What slow and idle clients may hold (Kestrel timeouts, data rates, connection counts).</summary>
    public Policy.ConnectionLimits Connections { get; init; } = new();

    /// <summary>How long the input must stay unchanged before a live frame is refined with the full VAE.</summary>
    public TimeSpan RefineDelay { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Run one generation at start-up so the first user request is fast (health reports ready after it).</summary>
    public bool WarmUp { get; init; } = true;

    public bool IsLoopback => Host is "127.0.0.1" or "localhost" or "::1" or "[::1]";

    /// <summary>The address to listen on as a URL: <c>http://127.0.0.1:7860</c>, IPv6 in brackets (<c>http://[::]:7860</c>).</summary>
    public string ListenUrl => $"http://{UrlHost(Host)}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Refuses what must never start (before anything is printed, downloaded or bound): a non-loopback bind without an API
    /// key (<paramref name="apiKey"/> is the effective key, from the options or TURBOGEN_API_KEY).
    /// </summary>
    public void Validate(string? apiKey)
    {
        if (!IsLoopback && string.IsNullOrEmpty(apiKey))
        {
            throw new InvalidRequestException("api_key", $"Binding to {Host} exposes the server beyond this machine: set --api-key or TURBOGEN_API_KEY.");
        }
    }

    /// <summary>A host as it is written in a URL: IPv6 literals in brackets.</summary>
    public static string UrlHost(string host) =>
        System.Net.IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !host.StartsWith('[')
            ? $"[{host}]"
            : host;
}

/// <summary>One ControlNet of <see cref="ServerOptions.ControlNets"/>: the name requests use and its files (ONNX, diffusers folder or single file).</summary>
public sealed record ServedControlNet(string Name, string Path);

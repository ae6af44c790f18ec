namespace TurboGen.Server.Scaling;

/// <summary>
/// <c>--queue redis://HOST:PORT</c>: where the job queue lives, and the key names every gateway and worker agree on
/// (all under the prefix <c>turbogen:</c>, so one Redis can hold other data too).
/// </summary>
public sealed record QueueAddress(string Host, int Port)
{
    public const string Prefix = "turbogen:";

    /// <summary>Parses <c>redis://HOST[:PORT]</c> (default port 6379); an error names <c>--queue</c>.</summary>
    public static QueueAddress Parse(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != "redis" || string.IsNullOrEmpty(uri.Host)
            || uri.AbsolutePath is not ("" or "/") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new InvalidRequestException("--queue", $"--queue must be redis://HOST:PORT (got '{value}').");
        }
        return new QueueAddress(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port);
    }

    /// <summary>The StackExchange.Redis configuration: reconnect forever, fail fast while disconnected.</summary>
    public StackExchange.Redis.ConfigurationOptions Configuration()
    {
        var config = new StackExchange.Redis.ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
            AsyncTimeout = 5000,
            ConnectRetry = 1,
            ReconnectRetryPolicy = new StackExchange.Redis.LinearRetry(500),
            ClientName = $"turbogen-{Environment.MachineName}-{Environment.ProcessId}",
            BacklogPolicy = StackExchange.Redis.BacklogPolicy.FailFast,
        };
        config.EndPoints.Add(Host, Port);
        return config;
    }

    public override string ToString() => $"redis://{ServerOptions.UrlHost(Host)}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The stream of a model's jobs (consumer group <see cref="Group"/>).</summary>
    public static string Jobs(string model) => $"{Prefix}jobs:{model}";
    public const string Group = "workers";

    /// <summary>
    /// A worker's own stream of the model's jobs (same group): the frames of the live sessions assigned to it
    /// (<see cref="Affinity"/>). Listed in <see cref="WorkerStreams"/> so that when the worker dies the others adopt its entries.
    /// </summary>
    public static string WorkerJobs(string model, string workerId) => $"{Prefix}jobs:{model}@{workerId}";
    public static string WorkerStreams(string model) => $"{Prefix}worker-streams:{model}";

    /// <summary>A live session's worker (its id, with a TTL renewed by each frame), per gateway since session ids are per gateway.</summary>
    public static string Affinity(string gatewayId, string session) => $"{Prefix}affinity:{gatewayId}:{session}";

    /// <summary>Published after a job is added, to wake idle workers of the model.</summary>
    public static string Wake(string model) => $"{Prefix}wake:{model}";

    /// <summary>Published with a job id when its submitter cancels it.</summary>
    public static string CancelChannel(string model) => $"{Prefix}cancel:{model}";
    public static string Cancelled(string jobId) => $"{Prefix}cancelled:{jobId}";

    /// <summary>Set (NX) by the worker that finishes a job first: later finishers drop their result.</summary>
    public static string Done(string jobId) => $"{Prefix}done:{jobId}";
    public static string Attempts(string jobId) => $"{Prefix}attempts:{jobId}";
    public static string Blob(string jobId, string name) => $"{Prefix}blob:{jobId}:{name}";

    /// <summary>A gateway's reply stream and the channel that wakes its reader.</summary>
    public static string Replies(string gatewayId) => $"{Prefix}replies:{gatewayId}";
    public static string RepliesWake(string gatewayId) => $"{Prefix}replies-wake:{gatewayId}";

    public static string Worker(string workerId) => $"{Prefix}worker:{workerId}";
    public static string Workers(string model) => $"{Prefix}workers:{model}";
    public static string Model(string model) => $"{Prefix}model:{model}";
    public static string Alias(string name) => $"{Prefix}alias:{name.Trim().ToLowerInvariant()}";
    public static string Reclaims(string model) => $"{Prefix}reclaims:{model}";
}

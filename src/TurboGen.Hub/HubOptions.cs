namespace TurboGen.Hub;

/// <summary>
/// Where the Hub is, who we are, where the cache lives. <paramref name="CheckForUpdates"/> = true makes a branch/tag name
/// (e.g. "main") always be resolved online, like huggingface_hub; by default a cached ref is trusted (see <see cref="HubClient"/>).
/// </summary>
public sealed record HubOptions(
    string Endpoint,
    string? Token,
    string CacheDir,
    bool Offline,
    int MaxParallelDownloads = 4,
    bool CheckForUpdates = false)
{
    /// <summary>The endpoint used when HF_ENDPOINT is not set: https://huggingface.co.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>
    /// Reads the same variables as huggingface_hub: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (else the token file
    /// written by <c>hf auth login</c>: HF_TOKEN_PATH or $HF_HOME/token), HF_HUB_CACHE (else $HF_HOME/hub, HF_HOME defaulting to
    /// $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface), HF_HUB_OFFLINE (1/true/yes/on).
    /// </summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    internal static HubOptions FromEnvironment(Func<string, string?> env)
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string xdgCache = NonEmpty(env("XDG_CACHE_HOME")) ?? Path.Combine(home, ".cache");
        string hfHome = ExpandHome(NonEmpty(env("HF_HOME")) ?? Path.Combine(xdgCache, "huggingface"), home);
        string cache = ExpandHome(
            NonEmpty(env("HF_HUB_CACHE")) ?? NonEmpty(env("HUGGINGFACE_HUB_CACHE")) ?? Path.Combine(hfHome, "hub"), home);

        string endpoint = (NonEmpty(env("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/');
        string? token = NonEmpty(env("HF_TOKEN")) ?? NonEmpty(env("HUGGING_FACE_HUB_TOKEN"));
        if (token is null)
        {
            string tokenFile = ExpandHome(NonEmpty(env("HF_TOKEN_PATH")) ?? Path.Combine(hfHome, "token"), home);
            if (File.Exists(tokenFile))
            {
                token = NonEmpty(File.ReadAllText(tokenFile).Trim());
            }
        }
        bool offline = IsTrue(env("HF_HUB_OFFLINE"));
        return new HubOptions(endpoint, token, cache, offline);
    }

    private static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string ExpandHome(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;
}

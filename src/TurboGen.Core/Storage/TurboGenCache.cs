namespace TurboGen.Storage;

/// <summary>
/// Where TurboGen keeps what it derives from checkpoints: <c>$TURBOGEN_CACHE</c> if set, else
/// <c>$XDG_CACHE_HOME/turbogen</c>, else <c>~/.cache/turbogen</c>. Built ONNX folders live under <c>built/</c>,
/// memoised file hashes under <c>hashes/</c>.
/// </summary>
public static class TurboGenCache
{
    /// <summary>The environment variable that overrides the cache root: <c>TURBOGEN_CACHE</c>.</summary>
    public const string EnvironmentVariable = "TURBOGEN_CACHE";

    /// <summary>The cache root: <paramref name="overrideRoot"/> when given, else the environment's (see the class remarks).</summary>
    public static string Root(string? overrideRoot = null)
    {
        if (!string.IsNullOrWhiteSpace(overrideRoot)) return Path.GetFullPath(overrideRoot);
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) return Path.GetFullPath(env.Trim());
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string cacheHome = !string.IsNullOrWhiteSpace(xdg) ? xdg.Trim() : Path.Combine(home, ".cache");
        return Path.Combine(cacheHome, "turbogen");
    }

    /// <summary>The folder of built ONNX models.</summary>
    public static string BuiltDir(string? overrideRoot = null) => Path.Combine(Root(overrideRoot), "built");

    /// <summary>The folder of memoised SHA-256 sidecars (see <see cref="FileContentId"/>).</summary>
    public static string HashesDir(string? overrideRoot = null) => Path.Combine(Root(overrideRoot), "hashes");

    /// <summary>ONNX Runtime's optimized models (the optimized-session cache of <c>Runtime/</c>).</summary>
    public static string SessionsDir(string? overrideRoot = null) => Path.Combine(Root(overrideRoot), "sessions");
}

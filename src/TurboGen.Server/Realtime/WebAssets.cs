using System.Reflection;
using System.Security.Cryptography;

namespace TurboGen.Server.Realtime;

/// <summary>
/// The web app's static files, embedded in the assembly as <c>wwwroot/&lt;path&gt;</c> resources (works offline and
/// in a single-file build). Read once at start-up; each has a content-type and a strong ETag.
/// </summary>
public sealed class WebAssets
{
    private const string Prefix = "wwwroot/";

    private WebAssets(IReadOnlyDictionary<string, Asset> files) => Files = files;

    /// <summary>URL path ("/app.js") → asset.</summary>
    public IReadOnlyDictionary<string, Asset> Files { get; }

    public static WebAssets Load(Assembly assembly)
    {
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            byte[] bytes = memory.ToArray();
            string path = "/" + name[Prefix.Length..].Replace('\\', '/');
            files[path] = new Asset(bytes, ContentType(path), "\"" + Convert.ToHexString(SHA256.HashData(bytes), 0, 16) + "\"");
        }
        return new WebAssets(files);
    }

    private static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".json" => "application/json",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        ".webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    };

    /// <summary>One embedded file.</summary>
    public sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TurboGen.Building;

/// <summary>
/// What a built folder must hold to be used: the build-info file (<see cref="OnnxModelBuilder.BuildInfoFile"/>) lists every other
/// file of the folder with its size, and the SHA-256 of each file up to <see cref="HashedFileLimit"/> (graphs, configs,
/// tokenizers; not the weights, which would take seconds per GB to re-read at every start). <see cref="Verify"/> checks that list:
/// a folder whose files were truncated, deleted, replaced or edited since the build (a disk error, a crash of the machine
/// before the data reached the disk, a hand edit) is reported and rebuilt by <see cref="BuiltModelCache"/> instead of failing
/// later inside ONNX Runtime. A bit flip inside a weights file keeps its size and is not detected.
/// </summary>
public static class BuildManifest
{
    /// <summary>Files up to this size are hashed (a full-size SDXL UNet graph without its weights is about 2 MB).</summary>
    public const long HashedFileLimit = 16L * 1024 * 1024;

    private const string FilesProperty = "files";

    /// <summary>Adds the list of every file now in <paramref name="dir"/> to <paramref name="info"/> and writes the build-info file.</summary>
    public static void Write(string dir, JsonObject info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var files = new JsonObject();
        foreach (string path in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(dir, path).Replace(Path.DirectorySeparatorChar, '/');
            if (relative == OnnxModelBuilder.BuildInfoFile) continue;
            long length = new FileInfo(path).Length;
            var entry = new JsonObject { ["bytes"] = length };
            if (length <= HashedFileLimit)
            {
                entry["sha256"] = Sha256(path);
            }
            files[relative] = entry;
        }
        info[FilesProperty] = files;
        File.WriteAllText(Path.Combine(dir, OnnxModelBuilder.BuildInfoFile), info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Null when <paramref name="dir"/> holds its build-info file and every file it lists, unchanged; else what is wrong (the first
    /// problem found). A build-info file without a file list (builds before the list existed) passes when it parses.
    /// </summary>
    public static string? Verify(string dir)
    {
        string infoPath = Path.Combine(dir, OnnxModelBuilder.BuildInfoFile);
        if (!File.Exists(infoPath))
        {
            return $"{OnnxModelBuilder.BuildInfoFile} is missing";
        }
        JsonObject? info;
        try
        {
            info = JsonNode.Parse(File.ReadAllText(infoPath)) as JsonObject;
        }
        catch (JsonException e)
        {
            return $"{OnnxModelBuilder.BuildInfoFile} is not valid JSON ({e.Message})";
        }
        if (info is null)
        {
            return $"{OnnxModelBuilder.BuildInfoFile} is not a JSON object";
        }
        if (info[FilesProperty] is not JsonObject files)
        {
            return null;
        }
        foreach (var (relative, node) in files)
        {
            string path = Path.Combine(dir, relative.Replace('/', Path.DirectorySeparatorChar));
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                return $"{relative} is missing";
            }
            long? bytes = node?["bytes"]?.GetValue<long>();
            if (bytes != file.Length)
            {
                return $"{relative} has {file.Length} bytes, the build wrote {bytes}";
            }
            if (node?["sha256"]?.GetValue<string>() is { } sha && !string.Equals(sha, Sha256(path), StringComparison.Ordinal))
            {
                return $"{relative} changed since the build (SHA-256 differs)";
            }
        }
        return null;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

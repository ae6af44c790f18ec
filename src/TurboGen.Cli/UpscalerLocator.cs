using System.Text.RegularExpressions;
using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>
/// Finds the ESRGAN model <c>upscale --model</c> and <c>serve --upscaler</c> name: a local <c>.safetensors</c> / <c>.onnx</c> file,
/// or a Hugging Face repository <c>org/name[@revision]</c> holding exactly one such file, or <c>org/name[@revision]:PATH</c>
/// naming the file in it (downloaded into the Hub cache).
/// </summary>
internal static partial class UpscalerLocator
{
    private static readonly string[] Extensions = [".safetensors", ".onnx"];

    public static async Task<string> LocateAsync(string reference, string option, Terminal terminal, CancellationToken ct)
    {
        string expanded = reference.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), reference[2..])
            : reference;
        if (File.Exists(expanded)) return Path.GetFullPath(expanded);
        var match = HubReference().Match(reference);
        if (!match.Success || Directory.Exists(expanded) || Path.IsPathRooted(expanded) || reference.StartsWith('.'))
        {
            throw new ModelLoadException(expanded, $"{option}: upscaler model not found: '{reference}' is not a .safetensors/.onnx file, nor a Hugging Face id (org/name[@revision][:FILE]).");
        }
        var (repoId, revision) = HubModelId.Parse(match.Groups["id"].Value);
        string? file = match.Groups["file"].Success ? match.Groups["file"].Value : null;
        string? chosen = null;
        IReadOnlyList<HubRepoFile> Select(IReadOnlyList<HubRepoFile> files)
        {
            var candidates = files.Where(f => file is null
                ? !f.Path.Contains('/') && Extensions.Any(e => f.Path.EndsWith(e, StringComparison.OrdinalIgnoreCase))
                : f.Path == file).ToList();
            if (candidates.Count != 1)
            {
                string listed = string.Join(", ", files.Where(f => Extensions.Any(e => f.Path.EndsWith(e, StringComparison.OrdinalIgnoreCase))).Select(f => f.Path).Take(20));
                throw new ModelLoadException(repoId, file is null
                    ? $"{option}: {repoId} has {candidates.Count} top-level .safetensors/.onnx files; name one as {repoId}:FILE (found: {(listed.Length > 0 ? listed : "none")})."
                    : $"{option}: {repoId} has no file '{file}' (found: {(listed.Length > 0 ? listed : "no .safetensors/.onnx files")}).");
            }
            chosen = candidates[0].Path;
            return candidates;
        }
        string snapshot = await HubDownloads.DownloadAsync(HubOptions.FromEnvironment(), repoId, revision, Select, terminal, showProgress: true, ct).ConfigureAwait(false);
        return Path.Combine(snapshot, chosen!);
    }

    [GeneratedRegex(@"^(?<id>[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(@[^:]+)?)(:(?<file>.+))?$")]
    private static partial Regex HubReference();
}

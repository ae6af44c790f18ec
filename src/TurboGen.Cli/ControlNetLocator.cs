using System.Text.RegularExpressions;
using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>A ControlNet found for <c>--controlnet</c>: its files (ONNX export, diffusers folder or single file) and the name the APIs list.</summary>
internal sealed record LocatedControlNet(string Path, string Name);

/// <summary>
/// Finds the ControlNet <c>generate --controlnet</c> and <c>serve --controlnet</c> name, as <c>-m</c> finds models: an existing
/// local ONNX export, diffusers folder or single file wins; otherwise <c>org/name[@revision]</c> is a Hugging Face repository
/// downloaded into the Hub cache (its ONNX export <c>model.onnx</c> or <c>controlnet/model.onnx</c>; else the diffusers files
/// <c>config.json</c> + <c>diffusion_pytorch_model[.fp16].safetensors</c>; else its only top-level <c>.safetensors</c>), and
/// <c>org/name[@revision]:FILE</c> names one file in it (e.g. <c>lllyasviel/ControlNet-v1-1:control_v11p_sd15_canny.safetensors</c>).
/// The name is the repository id, or the file's name without its extension when a file was named (or for a local path).
/// </summary>
internal static partial class ControlNetLocator
{
    private const string Weights = "diffusion_pytorch_model.safetensors", HalfWeights = "diffusion_pytorch_model.fp16.safetensors";

    public static async Task<LocatedControlNet> LocateAsync(string reference, string option, Terminal terminal, CancellationToken ct)
    {
        string text = reference.Trim();
        string expanded = text == "~" || text.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), text.Length > 2 ? text[2..] : "")
            : text;
        if (File.Exists(expanded) || Directory.Exists(expanded))
        {
            string path = Path.GetFullPath(expanded);
            return new LocatedControlNet(path, LocalName(path));
        }
        var match = HubReference().Match(text);
        if (!match.Success || Path.IsPathRooted(expanded) || text.StartsWith('.') || text.Contains('\\'))
        {
            throw new ModelLoadException(Path.GetFullPath(expanded),
                $"{option}: ControlNet not found: '{reference}' is not a local ONNX export, diffusers folder or .safetensors file, nor a Hugging Face id (org/name[@revision][:FILE]).");
        }
        var (repoId, revision) = HubModelId.Parse(match.Groups["id"].Value);
        string? file = match.Groups["file"].Success ? match.Groups["file"].Value : null;
        string relative = "";
        IReadOnlyList<HubRepoFile> Select(IReadOnlyList<HubRepoFile> files)
        {
            var (chosen, path) = Choose(files, file, repoId, option);
            relative = path;
            return chosen;
        }
        string snapshot = await HubDownloads.DownloadAsync(HubOptions.FromEnvironment(), repoId, revision, Select, terminal, showProgress: true, ct).ConfigureAwait(false);
        string located = relative.Length == 0 ? snapshot : Path.Combine(snapshot, relative);
        return new LocatedControlNet(located, file is null ? repoId : Path.GetFileNameWithoutExtension(file));
    }

    /// <summary>The files to download from a repository and the path (relative to the snapshot, "" = the snapshot) to build or load.</summary>
    internal static (IReadOnlyList<HubRepoFile> Files, string Path) Choose(IReadOnlyList<HubRepoFile> files, string? file, string repoId, string option)
    {
        HubRepoFile? Find(string path) => files.FirstOrDefault(f => f.Path == path);
        if (file is not null)
        {
            var named = Find(file) ?? throw new ModelLoadException(repoId, $"{option}: {repoId} has no file '{file}' (found: {Listing(files)}).");
            return file.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? (OnnxFiles(files, file), file) : ([named], file);
        }
        foreach (string onnx in new[] { "model.onnx", "controlnet/model.onnx" })
        {
            if (Find(onnx) is not null) return (OnnxFiles(files, onnx), onnx);
        }
        if (Find("config.json") is { } config && (Find(Weights) ?? Find(HalfWeights)) is { } weights)
        {
            return ([config, weights], "");
        }
        var singles = files.Where(f => !f.Path.Contains('/') && f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)).ToList();
        if (singles.Count == 1) return (singles, singles[0].Path);
        throw new ModelLoadException(repoId, singles.Count > 1
            ? $"{option}: {repoId} has {singles.Count} .safetensors files; name one as {repoId}:FILE (found: {Listing(files)})."
            : $"{option}: {repoId} has no ControlNet TurboGen reads: an ONNX export (model.onnx), diffusers files (config.json + {Weights}) or a single .safetensors file" +
              (files.Any(f => f.Path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase)) ? "; .bin weights are not read (use a repository or revision with safetensors)" : "") +
              $" (found: {Listing(files)}).");
    }

    /// <summary>An ONNX file with its external data and the config.json beside it.</summary>
    private static List<HubRepoFile> OnnxFiles(IReadOnlyList<HubRepoFile> files, string onnx)
    {
        string dir = onnx.Contains('/') ? onnx[..(onnx.LastIndexOf('/') + 1)] : "";
        return files.Where(f => f.Path.StartsWith(onnx, StringComparison.Ordinal) || f.Path == dir + "config.json").ToList();
    }

    private static string Listing(IReadOnlyList<HubRepoFile> files)
    {
        var listed = files.Select(f => f.Path).Where(p => p.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
            || p.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || p.EndsWith("config.json", StringComparison.Ordinal)).Take(20).ToList();
        return listed.Count > 0 ? string.Join(", ", listed) : "no weight files";
    }

    /// <summary>A local ControlNet's name: the folder's, or the file's without its extension (for a model.onnx, its folder's, skipping a "controlnet" folder).</summary>
    private static string LocalName(string path)
    {
        if (Directory.Exists(path)) return new DirectoryInfo(path).Name;
        if (!Path.GetFileName(path).Equals("model.onnx", StringComparison.OrdinalIgnoreCase)) return Path.GetFileNameWithoutExtension(path);
        var dir = new DirectoryInfo(Path.GetDirectoryName(path)!);
        return dir.Name.Equals("controlnet", StringComparison.OrdinalIgnoreCase) && dir.Parent is { } parent ? parent.Name : dir.Name;
    }

    [GeneratedRegex(@"^(?<id>[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(@[^:]+)?)(:(?<file>.+))?$")]
    private static partial Regex HubReference();
}

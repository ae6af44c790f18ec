using System.Text.RegularExpressions;
using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>What <c>-m MODEL</c> named: a Hugging Face repository or something on the local disk.</summary>
internal enum ModelReferenceKind { Hub, Local }

/// <summary>A model ready to load: its ONNX folder and the name written into image metadata.</summary>
internal sealed record LocatedModel(string Folder, string Name, string? RepoId = null, string? Revision = null);

/// <summary>
/// Resolves <c>-m MODEL</c> to a loadable ONNX model folder.
/// <para>How it works: an existing local folder or file always wins. A folder holding <c>unet/model.onnx</c> is used
/// as is; a diffusers safetensors folder or a single <c>.safetensors</c> checkpoint needs building into an ONNX
/// folder first (see <see cref="NeedsBuilding"/>). Text that looks like a path (absolute, ./, ../, ~/, a file
/// extension, more than one '/') but does not exist is a <see cref="ModelLoadException"/>. Anything else of the
/// form <c>org/name[@revision]</c> is a Hub id: the ONNX variant is taken from the Hugging Face cache, downloaded
/// when missing (<see cref="HubClient"/>; offline with nothing cached is a <see cref="HubException"/>).</para>
/// </summary>
internal sealed partial class ModelLocator(HubOptions hub, Terminal terminal, bool showProgress)
{
    public const string DefaultModel = "stabilityai/sdxl-turbo";

    private static readonly string[] CheckpointExtensions = [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".gguf"];

    public async Task<LocatedModel> LocateAsync(string? model, CancellationToken ct)
    {
        string text = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        if (Classify(text) == ModelReferenceKind.Local)
        {
            return LocateLocal(text);
        }
        var (repoId, revision) = HubModelId.Parse(text);
        string folder = await HubDownloads.DownloadAsync(hub, repoId, revision, HubFileSelector.Onnx, terminal, showProgress, ct).ConfigureAwait(false);
        return new LocatedModel(folder, repoId, repoId, revision);
    }

    public static ModelReferenceKind Classify(string text)
    {
        string expanded = ExpandHome(text);
        if (Directory.Exists(expanded) || File.Exists(expanded))
        {
            return ModelReferenceKind.Local;
        }
        bool looksLikePath = Path.IsPathRooted(expanded) || text.StartsWith('.') || text.StartsWith('~') || text.Contains('\\')
            || CheckpointExtensions.Any(e => text.EndsWith(e, StringComparison.OrdinalIgnoreCase));
        return !looksLikePath && HubIdPattern().IsMatch(text) ? ModelReferenceKind.Hub : ModelReferenceKind.Local;
    }

    private static LocatedModel LocateLocal(string text)
    {
        string path = Path.GetFullPath(ExpandHome(text));
        if (Directory.Exists(path))
        {
            string name = new DirectoryInfo(path).Name;
            if (File.Exists(Path.Combine(path, "unet", "model.onnx")))
            {
                return new LocatedModel(path, name);
            }
            if (Directory.Exists(Path.Combine(path, "unet")) && Directory.EnumerateFiles(Path.Combine(path, "unet"), "*.safetensors").Any())
            {
                throw NeedsBuilding(path, "a diffusers safetensors folder");
            }
            return new LocatedModel(path, name); // TurboModel.Load names what is missing
        }
        if (File.Exists(path))
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                throw NeedsBuilding(path, "a single-file .safetensors checkpoint");
            }
            throw new ModelLoadException(path, $"{path} is a file; expected an ONNX model folder (unet/model.onnx, text_encoder/, vae_decoder/, ...), a .safetensors checkpoint or a Hugging Face id.");
        }
        throw new ModelLoadException(path, $"Model not found: '{text}' is not a local folder or file ({path}), and not a Hugging Face id (org/name[@revision]).");
    }

    /// <summary>
    /// Checkpoints that must be converted to ONNX before loading. Wiring point: when <c>ModelResolver.Resolve(path, options)</c>
    /// (src/TurboGen.Core/Models/ModelResolver.cs) is available, call it here and return its ONNX folder instead of failing.
    /// </summary>
    private static ModelLoadException NeedsBuilding(string path, string what) =>
        new(path, $"{path} is {what}; this build of turbogen loads ONNX model folders only. Use an ONNX export (e.g. the Hub id, whose ONNX variant is downloaded) or convert the checkpoint to an ONNX folder first.");

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;

    /// <summary>org/name with an optional @revision (the revision itself is validated by <see cref="HubModelId"/>).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(@.+)?$")]
    private static partial Regex HubIdPattern();
}

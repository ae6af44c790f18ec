using System.Text.RegularExpressions;

namespace TurboGen.Hub;

/// <summary>
/// Pure functions choosing which files of a diffusers-style repository to download (the repo's file list in, a subset out, in input order).
/// Each returns an empty list when the repository has no such variant, so the caller can tell "no ONNX here" from a partial download.
/// </summary>
public static partial class HubFileSelector
{
    private static readonly string[] OnnxComponents = ["unet", "vae_decoder", "vae_encoder"];

    /// <summary>
    /// The ONNX variant: model_index.json, scheduler/*, tokenizer*/*, and for text_encoder*, unet, vae_decoder, vae_encoder: their
    /// config.json, model.onnx (or the folder's other *.onnx when there is no model.onnx) and its external data
    /// (model.onnx_data, model.onnx.data). Empty when there is no unet/*.onnx.
    /// </summary>
    public static IReadOnlyList<HubRepoFile> Onnx(IReadOnlyList<HubRepoFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var byFolder = files.GroupBy(f => TopFolder(f.Path) ?? "").ToDictionary(g => g.Key, g => g.ToList());
        if (!byFolder.TryGetValue("unet", out var unet) || !unet.Any(f => IsDirectChild(f.Path, "unet") && f.Path.EndsWith(".onnx", StringComparison.Ordinal)))
        {
            return [];
        }

        var chosen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (folder, folderFiles) in byFolder)
        {
            if (folder.Length == 0)
            {
                AddIfPresent(folderFiles, "model_index.json", chosen);
            }
            else if (folder == "scheduler" || folder.StartsWith("tokenizer", StringComparison.Ordinal))
            {
                chosen.UnionWith(folderFiles.Select(f => f.Path));
            }
            else if (folder.StartsWith("text_encoder", StringComparison.Ordinal) || OnnxComponents.Contains(folder))
            {
                AddOnnxComponent(folder, folderFiles, chosen);
            }
        }
        return files.Where(f => chosen.Contains(f.Path)).ToList();
    }

    /// <summary>
    /// The diffusers safetensors variant: model_index.json, scheduler/*, tokenizer*/*, and for every other top-level folder holding
    /// *.safetensors: config.json plus ONE precision of weights, fp16 (".fp16." / ".fp16-" in the name) when the folder has it, else the
    /// plain files (other variants such as ".bf16." are skipped), with the matching sharding index. Never .bin/.ckpt/.msgpack/.pb/.h5/.onnx,
    /// never the root-level single-file checkpoints (<see cref="SingleFileCheckpoint(IReadOnlyList{HubRepoFile})"/>). Empty when no component folder has safetensors weights.
    /// </summary>
    public static IReadOnlyList<HubRepoFile> Safetensors(IReadOnlyList<HubRepoFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var chosen = new HashSet<string>(StringComparer.Ordinal);
        bool anyWeights = false;
        foreach (var group in files.GroupBy(f => TopFolder(f.Path) ?? ""))
        {
            var folderFiles = group.ToList();
            string folder = group.Key;
            if (folder.Length == 0)
            {
                AddIfPresent(folderFiles, "model_index.json", chosen);
            }
            else if (folder == "scheduler" || folder.StartsWith("tokenizer", StringComparison.Ordinal))
            {
                chosen.UnionWith(folderFiles.Select(f => f.Path));
            }
            else
            {
                var weights = folderFiles.Where(f => IsDirectChild(f.Path, folder) && f.Path.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
                if (weights.Count == 0)
                {
                    continue;
                }
                anyWeights = true;
                var fp16 = weights.Where(f => Precision(FileName(f.Path)) == "fp16").ToList();
                bool useFp16 = fp16.Count > 0;
                var picked = useFp16 ? fp16 : weights.Where(f => Precision(FileName(f.Path)) is null).ToList();
                chosen.UnionWith(picked.Select(f => f.Path));
                AddIfPresent(folderFiles, folder + "/config.json", chosen);
                string indexSuffix = useFp16 ? ".safetensors.index.fp16.json" : ".safetensors.index.json";
                chosen.UnionWith(folderFiles.Where(f => IsDirectChild(f.Path, folder) && f.Path.EndsWith(indexSuffix, StringComparison.Ordinal)).Select(f => f.Path));
            }
        }
        return anyWeights ? files.Where(f => chosen.Contains(f.Path)).ToList() : [];
    }

    /// <summary>
    /// The single-file variant: the ONE original-layout checkpoint at the repository root (*.safetensors; when several, the fp16-named ones
    /// are preferred — sd_xl_turbo_1.0_fp16.safetensors over sd_xl_turbo_1.0.safetensors) plus the repository's tokenizer*/ files, which a
    /// single file does not carry. Empty when the root holds no checkpoint, or more than one after that preference (which one is meant is
    /// then unknown), or a config.json (a diffusers/transformers component repository, whose root weights are one network, not a model).
    /// </summary>
    public static IReadOnlyList<HubRepoFile> SingleFileCheckpoint(IReadOnlyList<HubRepoFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var root = files.Where(f => TopFolder(f.Path) is null).ToList();
        if (root.Any(f => f.Path == "config.json"))
        {
            return [];
        }
        var checkpoints = root.Where(f => f.Path.EndsWith(".safetensors", StringComparison.Ordinal)).ToList();
        var fp16 = checkpoints.Where(f => f.Path.Contains("fp16", StringComparison.OrdinalIgnoreCase)).ToList();
        var picked = fp16.Count > 0 ? fp16 : checkpoints;
        if (picked.Count != 1)
        {
            return [];
        }
        string checkpoint = picked[0].Path;
        return files.Where(f => f.Path == checkpoint || (TopFolder(f.Path) is { } folder && folder.StartsWith("tokenizer", StringComparison.Ordinal))).ToList();
    }

    /// <summary>The root checkpoint <paramref name="checkpoint"/> and the tokenizer folders, or empty when the repository has no such root file.</summary>
    public static IReadOnlyList<HubRepoFile> SingleFileCheckpoint(IReadOnlyList<HubRepoFile> files, string checkpoint)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!files.Any(f => f.Path == checkpoint && TopFolder(f.Path) is null))
        {
            return [];
        }
        return files.Where(f => f.Path == checkpoint || (TopFolder(f.Path) is { } folder && folder.StartsWith("tokenizer", StringComparison.Ordinal))).ToList();
    }

    /// <summary>A selector for exactly one file (by its repository path); the result is empty when the repo has no such file.</summary>
    public static Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> SingleFile(string path)
    {
        string normalized = path.Replace('\\', '/').TrimStart('/');
        return files => files.Where(f => f.Path == normalized).ToList();
    }

    private static void AddOnnxComponent(string folder, List<HubRepoFile> folderFiles, HashSet<string> chosen)
    {
        var direct = folderFiles.Where(f => IsDirectChild(f.Path, folder)).ToList();
        var models = direct.Where(f => f.Path.EndsWith(".onnx", StringComparison.Ordinal)).ToList();
        var main = models.Where(f => FileName(f.Path) == "model.onnx").ToList();
        if (main.Count > 0)
        {
            models = main;
        }
        if (models.Count == 0)
        {
            return;
        }
        foreach (var model in models)
        {
            chosen.Add(model.Path);
            foreach (string data in new[] { model.Path + "_data", model.Path + ".data" })
            {
                AddIfPresent(direct, data, chosen);
            }
        }
        AddIfPresent(direct, folder + "/config.json", chosen);
    }

    /// <summary>"fp16" for "x.fp16.safetensors" / "x.fp16-00001-of-00002.safetensors", other variant names likewise, null for plain files.</summary>
    internal static string? Precision(string fileName)
    {
        string stem = ShardSuffix().Replace(fileName[..^".safetensors".Length], "");
        int dot = stem.LastIndexOf('.');
        return dot < 0 ? null : stem[(dot + 1)..];
    }

    private static void AddIfPresent(IEnumerable<HubRepoFile> files, string path, HashSet<string> chosen)
    {
        if (files.Any(f => f.Path == path))
        {
            chosen.Add(path);
        }
    }

    internal static string? TopFolder(string path)
    {
        int slash = path.IndexOf('/');
        return slash < 0 ? null : path[..slash];
    }

    internal static bool IsDirectChild(string path, string folder) =>
        path.Length > folder.Length + 1 && path.StartsWith(folder + "/", StringComparison.Ordinal) && path.IndexOf('/', folder.Length + 1) < 0;

    internal static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    [GeneratedRegex(@"-\d{5}-of-\d{5}$")]
    private static partial Regex ShardSuffix();
}

using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Storage;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// A ControlNet as published, opened for the graph builder: a diffusers folder (<c>config.json</c> +
/// <c>diffusion_pytorch_model(.fp16).safetensors</c>, SD 1.x/2.x and SDXL) or an original single file
/// (<c>control_v11p_sd15_canny.safetensors</c>: keys under <c>control_model.</c>, or with no prefix as some SD 2.x files have;
/// names and config as <see cref="SingleFileControlNetNames"/> derives them).
/// <see cref="ContentHash"/> covers the config text and the weight files' content ids, so any change gives a new build.
/// </summary>
public sealed class ControlNetCheckpoint : IDisposable
{
    private readonly IDisposable _file;

    private ControlNetCheckpoint(string source, string configJson, ICheckpointTensors weights, IDisposable file, string contentHash)
    {
        Source = source;
        ConfigJson = configJson;
        Config = ControlNetConfig.FromJson(configJson, $"{source} config");
        Weights = weights;
        _file = file;
        ContentHash = contentHash;
    }

    /// <summary>The folder or .safetensors file it was opened from (full path).</summary>
    public string Source { get; }

    /// <summary>The diffusers <c>config.json</c> text: the folder's, or for a single file the one given to <see cref="Open"/> or derived from its tensors.</summary>
    public string ConfigJson { get; }

    /// <summary><see cref="ConfigJson"/> parsed.</summary>
    public ControlNetConfig Config { get; }

    /// <summary>The weights under diffusers names (a single file's keys renamed by <see cref="SingleFileControlNetNames"/>).</summary>
    public ICheckpointTensors Weights { get; }

    /// <summary>SHA-256 (lowercase hex) over the config text and the weight file's content id: the key of the built-model cache.</summary>
    public string ContentHash { get; }

    /// <summary>Whether <paramref name="path"/> looks like a ControlNet diffusers folder (config.json naming ControlNetModel next to safetensors weights).</summary>
    public static bool IsDiffusersFolder(string path) =>
        Directory.Exists(path) && File.Exists(Path.Combine(path, "config.json")) && WeightFiles(path).Length > 0
        && File.ReadAllText(Path.Combine(path, "config.json")).Contains("ControlNetModel", StringComparison.Ordinal);

    /// <summary>Opens a diffusers ControlNet folder or a single .safetensors file.</summary>
    /// <param name="path">The folder or file.</param>
    /// <param name="cacheRoot">Where file hashes are memoised (<see cref="FileContentId"/>); null = the TurboGen cache.</param>
    /// <param name="singleFileConfigJson">Single files only: the config.json to use instead of the one derived from the tensors.</param>
    /// <exception cref="ModelLoadException">Not a ControlNet, or its tensors do not match its config (every problem listed).</exception>
    public static ControlNetCheckpoint Open(string path, string? cacheRoot = null, string? singleFileConfigJson = null)
    {
        path = Path.GetFullPath(path);
        if (Directory.Exists(path)) return OpenFolder(path, cacheRoot);
        if (File.Exists(path) && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return OpenSingleFile(path, cacheRoot, singleFileConfigJson);
        throw new ModelLoadException(path, File.Exists(path)
            ? $"{path} is not a ControlNet checkpoint: expected a .safetensors file, a diffusers folder (config.json + diffusion_pytorch_model.safetensors) or an ONNX export (model.onnx)."
            : $"ControlNet not found: {path}");
    }

    private static ControlNetCheckpoint OpenFolder(string path, string? cacheRoot)
    {
        string configPath = Path.Combine(path, "config.json");
        if (!File.Exists(configPath))
        {
            throw new ModelLoadException(configPath, $"{path} is not a diffusers ControlNet folder: config.json is missing.");
        }
        string[] files = WeightFiles(path);
        if (files.Length == 0)
        {
            throw new ModelLoadException(path, $"{path} has no diffusion_pytorch_model.safetensors (or .fp16.safetensors); ControlNet weights in .bin files are not read (convert them to safetensors).");
        }
        string file = files[0];
        string json = File.ReadAllText(configPath);
        var weights = new SafetensorsCheckpoint(file);
        try
        {
            string hash = FileContentId.HashText($"controlnet config {FileContentId.HashText(json)}\n{Path.GetFileName(file)} {FileContentId.Of(file, cacheRoot)}\n");
            return new ControlNetCheckpoint(path, json, weights, weights, hash);
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static ControlNetCheckpoint OpenSingleFile(string path, string? cacheRoot, string? configJson)
    {
        var file = new SafetensorsCheckpoint(path);
        try
        {
            var (prefix, derived) = SingleFileControlNetNames.Detect(file, path);
            string json = configJson ?? derived;
            var config = ControlNetConfig.FromJson(json, $"{path} (derived config)");
            var renamed = new RenamedCheckpoint(file, SingleFileControlNetNames.Mappings(config, prefix), $"ControlNet {path}");
            string hash = FileContentId.HashText($"controlnet single file {FileContentId.Of(path, cacheRoot)}\nconfig {FileContentId.HashText(json)}\n");
            return new ControlNetCheckpoint(path, json, renamed, file, hash);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static string[] WeightFiles(string dir) =>
        new[] { "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors" }
            .Select(f => Path.Combine(dir, f)).Where(File.Exists).ToArray();

    /// <summary>Unmaps the weight file; <see cref="Weights"/> must not be read afterwards.</summary>
    public void Dispose() => _file.Dispose();
}

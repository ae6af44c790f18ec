using TurboGen.Checkpoints;
using TurboGen.Checkpoints.Lora;
using TurboGen.Configs;
using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Storage;
using TurboGen.Weights;

namespace TurboGen.Building;

/// <summary>Options of <see cref="ModelResolver"/> and <see cref="ModelConverter"/>.</summary>
public sealed record ModelResolveOptions
{
    /// <summary>Cache root for built models and memoised file hashes; null = <see cref="TurboGenCache.Root"/> ($TURBOGEN_CACHE or ~/.cache/turbogen).</summary>
    public string? CacheRoot { get; init; }

    /// <summary>Receives one line per build stage (nothing is reported when no build is needed, except a "cached" line).</summary>
    public IProgress<string>? Progress { get; init; }

    /// <summary>LoRA files merged into the weights at build time, each with its scale (kohya/A1111 or diffusers/PEFT naming).</summary>
    public IReadOnlyList<(string Path, float Scale)> Loras { get; init; } = [];

    /// <summary>
    /// Single-file checkpoints carry no tokenizer: given the base model read from the file, returns the standard CLIP tokenizer
    /// folders (<c>tokenizer/</c>, and <c>tokenizer_2/</c> for SDXL). The CLI takes them from the stabilityai repos in the
    /// Hugging Face cache (downloading only those files when needed; <see cref="SingleFileCheckpoint.TokenizerRepository"/>).
    /// </summary>
    public Func<SingleFileBase, CancellationToken, (string? Tokenizer, string? Tokenizer2)>? TokenizerSource { get; init; }

    /// <summary>Configs for a single-file checkpoint whose networks differ from SDXL-Turbo / SD 1.5 / SD-Turbo (null = the known configs of its base).</summary>
    public ModelConfigSet? SingleFileConfigs { get; init; }

    /// <summary>Operator forms of the built graphs (<see cref="GraphKernels.Standard"/> by default; each kind has its own cache entry). Ignored for ONNX folders.</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;

    /// <summary>Fail when a LoRA key matches nothing (default: report it through <see cref="Progress"/> and go on).</summary>
    public bool StrictLora { get; init; }

    /// <summary>
    /// The precision safetensors checkpoints are built in (ONNX folders are used as they are): float32 (default, for the
    /// CPU provider) or float16 (for GPU providers, <see cref="BuildPrecisions.ForProvider"/>). Each precision is cached separately.
    /// </summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;

    /// <summary>
    /// Build from the safetensors weights of a folder even when it also holds an ONNX export (<c>unet/model.onnx</c>): a Hub snapshot
    /// into which both variants were downloaded, when the safetensors variant was chosen (see <c>HubVariants</c>).
    /// </summary>
    public bool IgnoreOnnxExport { get; init; }

    /// <summary>
    /// Build the UNet with the ControlNet residual inputs (a separate cache entry, suffix <c>-cn</c>), so ControlNets can steer it.
    /// ONNX folders are used as they are: one whose UNet lacks the inputs is refused when a ControlNet is used with it.
    /// </summary>
    public bool ControlNetResiduals { get; init; }
}

/// <summary>
/// Turns what the user named into a local ONNX folder ready for <see cref="TurboModel.Load"/>: an ONNX folder (has
/// <c>unet/model.onnx</c>) is used as is; a diffusers safetensors folder is built once into the
/// <see cref="BuiltModelCache"/>; a single <c>.safetensors</c> checkpoint file goes through the single-file reader.
/// Hugging Face ids are resolved (downloaded) by the CLI before this is called.
/// </summary>
public static class ModelResolver
{
    /// <summary>The local ONNX folder for <paramref name="pathOrId"/> (a folder or a .safetensors file), building it if needed.</summary>
    public static string Resolve(string pathOrId, ModelResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrId);
        options ??= new ModelResolveOptions();
        string path = Path.GetFullPath(pathOrId);
        if (!options.IgnoreOnnxExport && Directory.Exists(path) && IsOnnxFolder(path))
        {
            if (options.Loras.Count > 0)
            {
                throw new ModelLoadException(path, $"LoRA files are merged into safetensors weights at build time, but {path} is an ONNX export. Use the diffusers folder or the single-file checkpoint of the model.");
            }
            return path;
        }
        using var components = OpenCheckpoint(path, options, cancellationToken);
        if (options.Loras.Count == 0)
        {
            return BuiltModelCache.GetOrBuild(components, options.CacheRoot, options.Progress, cancellationToken, options.Precision, options.Kernels, options.ControlNetResiduals);
        }
        var adapters = new List<(LoraAdapter Adapter, float Scale)>();
        try
        {
            foreach (var (loraPath, scale) in options.Loras)
            {
                adapters.Add((LoraAdapter.Open(Path.GetFullPath(loraPath)), scale));
            }
            // The merged view shares the open files with `components`, which disposes them.
            var (merged, report) = LoraMerge.Apply(components, adapters, options.StrictLora);
            if (report.HasWarnings)
            {
                options.Progress?.Report(report.Warning());
            }
            return BuiltModelCache.GetOrBuild(merged, options.CacheRoot, options.Progress, cancellationToken, options.Precision, options.Kernels, options.ControlNetResiduals);
        }
        finally
        {
            foreach (var (adapter, _) in adapters) adapter.Dispose();
        }
    }

    /// <summary>
    /// The tiny VAE folder for <see cref="ModelLoadOptions.TinyVaePath"/>: an ONNX tiny VAE folder (<c>vae_decoder/model.onnx</c>
    /// or <c>model.onnx</c>) as is; a diffusers AutoencoderTiny folder (TAESD / TAESDXL safetensors) built once into the cache.
    /// </summary>
    public static string ResolveTinyVae(string folder, ModelResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= new ModelResolveOptions();
        string path = Path.GetFullPath(folder);
        if (!Directory.Exists(path))
        {
            throw new ModelLoadException(path, $"Tiny VAE folder not found: {path}");
        }
        if (File.Exists(Path.Combine(path, "vae_decoder", "model.onnx")) || File.Exists(Path.Combine(path, "model.onnx")))
        {
            return path;
        }
        if (!TinyVaeBuilder.IsAutoencoderTinyFolder(path))
        {
            throw new ModelLoadException(path,
                $"{path} is not a tiny VAE: expected vae_decoder/model.onnx (ONNX) or a diffusers AutoencoderTiny folder (config.json with \"_class_name\": \"AutoencoderTiny\" + diffusion_pytorch_model.safetensors, e.g. madebyollin/taesdxl).");
        }
        string key = "taesd-" + TinyVaeBuilder.ContentHash(path, options.CacheRoot) + BuiltModelCache.PrecisionSuffix(options.Precision);
        return BuiltModelCache.GetOrCreate(key, options.CacheRoot,
            dir => File.Exists(Path.Combine(dir, "vae_decoder", "model.onnx")) && BuildManifest.Verify(dir) is null,
            dir => TinyVaeBuilder.WriteInto(path, dir, options.Progress, cancellationToken, options.Precision),
            options.Progress);
    }

    /// <summary>True when <paramref name="folder"/> is an ONNX model folder (Optimum or Olive layout).</summary>
    public static bool IsOnnxFolder(string folder) => File.Exists(Path.Combine(folder, "unet", "model.onnx"));

    /// <summary>
    /// Opens a safetensors checkpoint (diffusers folder or single file) for building. The caller disposes the result.
    /// </summary>
    public static CheckpointComponents OpenCheckpoint(string path, ModelResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ModelResolveOptions();
        path = Path.GetFullPath(path);
        if (File.Exists(path))
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                return OpenSingleFile(path, options, cancellationToken);
            }
            throw new ModelLoadException(path,
                $"{path} is a file; expected a model folder (ONNX: unet/model.onnx …; diffusers: model_index.json, unet/, text_encoder/, vae/ …) or a .safetensors checkpoint.");
        }
        if (!Directory.Exists(path))
        {
            throw new ModelLoadException(path, $"Model not found: {path} (a local folder or .safetensors file is expected here; Hugging Face ids are resolved by the CLI).");
        }
        if (!File.Exists(Path.Combine(path, "model_index.json")) && !Directory.Exists(Path.Combine(path, "unet")))
        {
            throw new ModelLoadException(path,
                $"{path} is neither an ONNX model folder (unet/model.onnx) nor a diffusers folder (model_index.json with unet/, text_encoder/, vae/ safetensors).");
        }
        return DiffusersCheckpoint.Open(path, options.CacheRoot);
    }

    /// <summary>A single-file checkpoint (sd_xl_turbo_1.0_fp16.safetensors, sd_turbo.safetensors, SD 1.x files, fine-tunes) with tokenizers from <see cref="ModelResolveOptions.TokenizerSource"/>.</summary>
    private static CheckpointComponents OpenSingleFile(string path, ModelResolveOptions options, CancellationToken cancellationToken)
    {
        SingleFileBase detected;
        using (var file = SafetensorsFile.Open(path))
        {
            detected = SingleFileLayout.DetectBase(file.Tensors.Keys)
                ?? throw new ModelLoadException(path, $"{path} is not an SD 1.x, SD 2.x or SDXL single-file checkpoint (no model.diffusion_model.* / conditioner.* / cond_stage_model.* keys).");
        }
        var (tokenizer, tokenizer2) = options.TokenizerSource?.Invoke(detected, cancellationToken) ?? (null, null);
        return SingleFileCheckpoint.Open(path, tokenizer, tokenizer2, options.SingleFileConfigs, options.CacheRoot);
    }
}

using System.Text.RegularExpressions;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Graphs;
using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>What <c>-m MODEL</c> named: a Hugging Face repository or something on the local disk.</summary>
internal enum ModelReferenceKind { Hub, Local }

/// <summary>A model ready to load: its ONNX folder (or, before building, the files found) and the name written into image metadata.</summary>
internal sealed record LocatedModel(string Folder, string Name, string? RepoId = null, string? Revision = null, HubVariant? Variant = null);

/// <summary>
/// Resolves <c>-m MODEL</c> to a loadable ONNX model folder.
/// <para>How it works: an existing local folder or file always wins. Text that looks like a path (absolute, ./, ../,
/// ~/, a checkpoint extension) but does not exist is a <see cref="ModelLoadException"/>. Anything else of the form
/// <c>org/name[@revision]</c> is a Hub id: the variant <see cref="HubVariants"/> chooses for the provider (ONNX export, diffusers
/// safetensors or single file: the one already in the cache, else the smallest download) is taken from the Hugging Face cache, or
/// downloaded when missing (<see cref="HubClient"/>; offline with nothing cached is a <see cref="HubException"/>). Whatever was found then goes
/// through <see cref="ModelResolver.Resolve"/>: an ONNX folder is used as is, a diffusers folder or a single-file
/// checkpoint is built into an ONNX folder once per precision (cached under TURBOGEN_CACHE; float16 for GPU providers, see
/// <see cref="SharedOptions.ChoosePrecision"/>), with the build's progress on stderr.</para>
/// </summary>
internal sealed partial class ModelLocator(HubOptions hub, Terminal terminal, bool showProgress)
{
    public const string DefaultModel = "stabilityai/sdxl-turbo";

    private static readonly string[] CheckpointExtensions = [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".gguf"];

    /// <summary>What a request with these options needs from a Hub repository (see <see cref="HubVariants.Choose"/>).</summary>
    public static HubVariantNeeds Needs(string provider, bool loras, TurboGen.Graphs.GraphKernels? kernels) => new()
    {
        Weights = loras || kernels is { IsStandard: false },
        CudaExports = provider.Trim().ToLowerInvariant() is "cuda" or "tensorrt",
    };

    /// <summary>The loadable ONNX folder for MODEL (default <see cref="DefaultModel"/>), downloading and building as needed.</summary>
    public async Task<LocatedModel> LocateAsync(string? model, CancellationToken ct, IReadOnlyList<(string Path, float Scale)>? loras = null,
        BuildPrecision precision = BuildPrecision.Float32, TurboGen.Graphs.GraphKernels? kernels = null, string provider = "cpu", bool controlNetResiduals = false,
        bool strictLora = false)
    {
        loras ??= [];
        kernels ??= TurboGen.Graphs.GraphKernels.Standard;
        var presetLora = PresetFor(model)?.Lora;
        var source = await FetchAsync(model, ct, Needs(provider, loras.Count > 0 || presetLora is not null, kernels), precision).ConfigureAwait(false);
        if (presetLora is not null)
        {
            // A LoRA-made preset (lcm-lora-sd15, tcd-sdxl, …): its LoRA first, then those of --lora.
            loras = [(await PresetLoraAsync(presetLora, ct).ConfigureAwait(false), presetLora.Scale), .. loras];
        }
        var options = ResolveOptions(precision, kernels) with
        {
            Loras = loras,
            StrictLora = strictLora,
            TokenizerSource = TokenizerSource(source),
            IgnoreOnnxExport = source.Variant is { NeedsBuild: true },
            ControlNetResiduals = controlNetResiduals,
        };
        string folder = await Task.Run(() => ModelResolver.Resolve(source.Folder, options, ct), ct).ConfigureAwait(false);
        return source with { Folder = folder };
    }

    /// <summary>The LoRA file of a preset (<see cref="KnownModel.Lora"/>), from the Hub cache or downloaded (that one file).</summary>
    public async Task<string> PresetLoraAsync(KnownLora lora, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(lora);
        IReadOnlyList<HubRepoFile> Pick(IReadOnlyList<HubRepoFile> files)
        {
            var picked = files.Where(f => f.Path == lora.File).ToList();
            return picked.Count > 0 ? picked
                : throw new ModelLoadException(lora.File, $"The LoRA repository {lora.RepoId} has no file {lora.File}.");
        }
        string snapshot = await HubDownloads.DownloadAsync(hub, lora.RepoId, "main", Pick, terminal, showProgress, ct).ConfigureAwait(false);
        return Path.Combine(snapshot, lora.File);
    }

    /// <summary>Build options with the build progress on stderr (also used for ControlNets, which need no tokenizer).</summary>
    public ModelResolveOptions ResolveOptions(BuildPrecision precision, TurboGen.Graphs.GraphKernels? kernels) => new()
    {
        Progress = BuildProgress(),
        Precision = precision,
        Kernels = kernels ?? TurboGen.Graphs.GraphKernels.Standard,
    };

    /// <summary>
    /// The model's files as found (local path or Hub snapshot; for a single-file variant the checkpoint in it), not built: what
    /// <c>convert</c> reads. <paramref name="build"/> is the precision they will be built in (for the download announcement).
    /// </summary>
    public async Task<LocatedModel> FetchAsync(string? model, CancellationToken ct, HubVariantNeeds? needs = null, BuildPrecision? build = null)
    {
        string text = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        if (Classify(text) == ModelReferenceKind.Local)
        {
            string path = LocalPath(text);
            return new LocatedModel(path, Directory.Exists(path) ? new DirectoryInfo(path).Name : Path.GetFileNameWithoutExtension(path));
        }
        var (repoId, revision) = KnownModels.Find(text) is { } preset ? (preset.RepoId, HubModelId.DefaultRevision) : HubModelId.Parse(text);
        needs ??= new HubVariantNeeds();
        if (KnownModels.Find(text) is { } known) needs = known.Needs(needs);
        var download = await HubDownloads.DownloadVariantAsync(hub, repoId, revision, needs, null, build ?? BuildPrecision.Float32,
            terminal, showProgress, ct).ConfigureAwait(false);
        return new LocatedModel(download.ModelPath, repoId, repoId, revision, download.Variant);
    }

    /// <summary>The tiny VAE to load (see <see cref="TinyVaeLocator"/>), built from a diffusers AutoencoderTiny folder if needed.</summary>
    public Task<string?> TinyVaeAsync(bool requested, string? path, string modelFolder, CancellationToken ct, BuildPrecision precision = BuildPrecision.Float32)
    {
        string? found = TinyVaeLocator.Resolve(requested, path, modelFolder);
        if (found is null || !Directory.Exists(found))
        {
            return Task.FromResult(found); // a file path (model.onnx) or nothing: TurboModel.Load checks it
        }
        var options = new ModelResolveOptions { Progress = BuildProgress(), Precision = precision };
        return Task.Run<string?>(() => ModelResolver.ResolveTinyVae(found, options, ct), ct);
    }

    /// <summary>Where a single-file checkpoint found as <paramref name="source"/> gets its tokenizers (see <see cref="Tokenizers"/>).</summary>
    public Func<SingleFileBase, CancellationToken, (string? Tokenizer, string? Tokenizer2)> TokenizerSource(LocatedModel source) =>
        Tokenizers(source.Variant is { Kind: HubVariantKind.SingleFile } ? Path.GetDirectoryName(source.Folder) : null);

    /// <summary>
    /// Single-file checkpoints carry no tokenizer: the tokenizer folders downloaded with a single-file variant are used when its
    /// repository has them (<paramref name="snapshot"/>), else the standard CLIP tokenizer folders come from the official repos
    /// (<see cref="SingleFileCheckpoint.TokenizerRepository"/>: SDXL stabilityai/sdxl-turbo's tokenizer/ + tokenizer_2/; SD 1.x
    /// its tokenizer/ alone, CLIP ViT-L's; SD 2.x stabilityai/sd-turbo's tokenizer/), cached or downloaded (a few MB).
    /// </summary>
    private Func<SingleFileBase, CancellationToken, (string? Tokenizer, string? Tokenizer2)> Tokenizers(string? snapshot) => (detected, ct) =>
    {
        bool xl = detected == SingleFileBase.Sdxl;
        if (snapshot is not null && Directory.Exists(Path.Combine(snapshot, "tokenizer")) && (!xl || Directory.Exists(Path.Combine(snapshot, "tokenizer_2"))))
        {
            return (Path.Combine(snapshot, "tokenizer"), xl ? Path.Combine(snapshot, "tokenizer_2") : null);
        }
        string repo = SingleFileCheckpoint.TokenizerRepository(detected);
        IReadOnlyList<HubRepoFile> TokenizerFiles(IReadOnlyList<HubRepoFile> files) =>
            files.Where(f => f.Path.StartsWith("tokenizer/", StringComparison.Ordinal) || (xl && f.Path.StartsWith("tokenizer_2/", StringComparison.Ordinal))).ToList();
        string standard = HubDownloads.DownloadAsync(hub, repo, "main", TokenizerFiles, terminal, showProgress, ct).GetAwaiter().GetResult();
        return (Path.Combine(standard, "tokenizer"), xl ? Path.Combine(standard, "tokenizer_2") : null);
    };

    /// <summary>
    /// The tokenizers of <c>--tokenizer FOLDER</c>: a folder holding <c>tokenizer/</c> (and <c>tokenizer_2/</c> for SDXL), e.g. a
    /// diffusers model folder or Hub snapshot; or, for an SD checkpoint, a tokenizer folder itself (<c>vocab.json</c>). The folder
    /// must exist now (an <see cref="InvalidRequestException"/> naming <c>--tokenizer</c>); whether it fits the family is known
    /// once the checkpoint was read.
    /// </summary>
    public static Func<SingleFileBase, CancellationToken, (string? Tokenizer, string? Tokenizer2)> ExplicitTokenizers(string folder)
    {
        string path = Path.GetFullPath(ExpandHome(folder.Trim()));
        if (!Directory.Exists(path))
        {
            throw new InvalidRequestException("--tokenizer", $"The tokenizer folder {path} does not exist.");
        }
        string nested = Path.Combine(path, "tokenizer"), nested2 = Path.Combine(path, "tokenizer_2");
        bool isTokenizer = File.Exists(Path.Combine(path, "vocab.json")) || File.Exists(Path.Combine(path, "tokenizer.json"));
        if (!Directory.Exists(nested) && !isTokenizer)
        {
            throw new InvalidRequestException("--tokenizer", $"{path} holds neither tokenizer/ (and tokenizer_2/) nor a tokenizer (vocab.json, merges.txt).");
        }
        return (detected, _) =>
        {
            bool xl = detected == SingleFileBase.Sdxl;
            if (Directory.Exists(nested))
            {
                if (xl && !Directory.Exists(nested2))
                {
                    throw new InvalidRequestException("--tokenizer", $"The checkpoint is SDXL, which needs two tokenizers, but {path} has tokenizer/ and no tokenizer_2/.");
                }
                return (nested, xl ? nested2 : null);
            }
            if (xl)
            {
                throw new InvalidRequestException("--tokenizer",
                    $"The checkpoint is SDXL, which needs two tokenizers: give a folder holding tokenizer/ and tokenizer_2/ (e.g. stabilityai/sdxl-turbo's), not the single tokenizer {path}.");
            }
            return (path, null);
        };
    }

    /// <summary>
    /// The preset (<see cref="KnownModels"/>) that MODEL names — <c>sd-turbo</c>, <c>sdxl-lightning-4step</c>, … — unless a local
    /// folder or file of that name exists (the local path wins, as for every name). Null for anything else.
    /// </summary>
    public static KnownModel? PresetFor(string? model)
    {
        string text = string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim();
        string expanded = ExpandHome(text);
        return Directory.Exists(expanded) || File.Exists(expanded) ? null : KnownModels.Find(text);
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
        return !looksLikePath && (HubIdPattern().IsMatch(text) || KnownModels.Find(text) is not null) ? ModelReferenceKind.Hub : ModelReferenceKind.Local;
    }

    private static string LocalPath(string text)
    {
        string path = Path.GetFullPath(ExpandHome(text));
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            throw new ModelLoadException(path, $"Model not found: '{text}' is not a local folder or file ({path}), a Hugging Face id (org/name[@revision]) or a known model ({string.Join(", ", KnownModels.All.Select(m => m.Name))}; see turbogen models --known).");
        }
        return path;
    }

    private StderrProgress BuildProgress() => new(terminal.Error);

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "")
            : path;

    /// <summary>org/name with an optional @revision (the revision itself is validated by <see cref="HubModelId"/>).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+(@.+)?$")]
    private static partial Regex HubIdPattern();
}

using TurboGen.Graphs;
using TurboGen.Hub;
using TurboGen.Storage;

namespace TurboGen.Cli;

/// <summary>A downloaded (or already cached) variant: its snapshot folder and what was chosen.</summary>
internal sealed record HubVariantDownload(string Snapshot, HubVariant Variant)
{
    /// <summary>What to build or load: the snapshot folder, or the checkpoint file in it for a single-file variant.</summary>
    public string ModelPath => Variant.CheckpointPath is { } checkpoint
        ? Path.Combine(Snapshot, checkpoint.Replace('/', Path.DirectorySeparatorChar))
        : Snapshot;
}

/// <summary>
/// Downloads into the Hugging Face cache, with progress on stderr when anything is fetched. Before the first byte it prints what is
/// downloaded, the total size and the free space of the cache's drive (and for weights that are built afterwards, the build's size
/// and the free space where it goes); the client's own free-space check then fails before any transfer when the download cannot fit.
/// </summary>
internal static class HubDownloads
{
    /// <summary>Downloads the files <paramref name="select"/> picks (see <see cref="HubFileSelector"/>).</summary>
    public static Task<string> DownloadAsync(HubOptions options, string repoId, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select, Terminal terminal, bool showProgress, CancellationToken ct) =>
        RunAsync(options, repoId, revision, select, p => [Announcement(options, $"{repoId}@{revision}", p)], terminal, showProgress, ct);

    /// <summary>
    /// Downloads the variant <see cref="HubVariants.Choose"/> picks for <paramref name="needs"/> (only variants of
    /// <paramref name="kind"/> when given). <paramref name="build"/> is the precision the variant will be built in when it is
    /// safetensors weights (null: not built here, e.g. <c>pull</c>), for the announcement.
    /// </summary>
    public static async Task<HubVariantDownload> DownloadVariantAsync(HubOptions options, string repoId, string revision, HubVariantNeeds needs,
        HubVariantKind? kind, BuildPrecision? build, Terminal terminal, bool showProgress, CancellationToken ct)
    {
        var cache = new HubCache(options.CacheDir);
        HubVariant? chosen = null;
        IReadOnlyList<HubRepoFile> Select(IReadOnlyList<HubRepoFile> files)
        {
            var candidates = HubVariants.Candidates(files, needs.Checkpoint).Where(v => kind is null || v.Kind == kind).ToList();
            if (needs.Checkpoint is not null && candidates.Count == 0 && files.Count > 0)
            {
                throw new HubException(HubErrorKind.NotFound, repoId, $"{repoId}@{revision} has no root file {needs.Checkpoint}.");
            }
            chosen = HubVariants.Choose(candidates, needs, f => cache.HasBlob(repoId, f));
            if (chosen is null && candidates.Count > 0)
            {
                throw new ModelLoadException(repoId,
                    $"{repoId}@{revision} has only an ONNX export, but --lora and --kernels other than standard need the safetensors weights (diffusers folders or a single-file checkpoint).");
            }
            // A list without blob ids was read from a snapshot on disk (offline, from a cache without TurboGen's saved file list):
            // what is there may be a partial download, which must not pass for the whole variant.
            if (chosen is not null && files.All(f => f.ExpectedEtag is null) && HubVariants.MissingParts(chosen) is { Count: > 0 } missing)
            {
                throw new HubException(HubErrorKind.Offline, repoId,
                    $"{repoId}@{revision} is only partly in the cache at {options.CacheDir} ({chosen.Files.Count} files of the {Describe(chosen)} variant; missing {string.Join(", ", missing)}), and the Hub cannot be asked (offline): run once online to complete it.");
            }
            return chosen?.Files ?? [];
        }
        IEnumerable<string> Announce(HubDownloadProgress plan)
        {
            string what = chosen is null ? "" : " (" + Describe(chosen) + ")";
            yield return Announcement(options, $"{repoId}@{revision}{what}", plan);
            if (chosen is { NeedsBuild: true } && build is { } precision)
            {
                string builtDir = TurboGenCache.BuiltDir();
                long buildBytes = BuildBytes(chosen, precision);
                string tight = DiskSpace.FreeBytes(builtDir) < buildBytes ? " Warning: that is less than the build needs." : "";
                yield return $"Then built once into ONNX ({precision.ShortName()}), ≈ {Units.Bytes(buildBytes)}; {DiskSpace.Describe(builtDir)}.{tight}";
            }
        }

        string snapshot = await RunAsync(options, repoId, revision, Select, Announce, terminal, showProgress, ct).ConfigureAwait(false);
        return new HubVariantDownload(snapshot, chosen ?? throw new InvalidOperationException("The variant selector did not run."));
    }

    /// <summary>"safetensors, fp16", "onnx", "single-file, sd_xl_turbo_1.0_fp16.safetensors", "onnx, made for CUDA".</summary>
    public static string Describe(HubVariant variant) => variant.Detail.Length == 0 ? variant.Name : $"{variant.Name}, {variant.Detail}";

    /// <summary>
    /// The size of the ONNX model built from <paramref name="variant"/>'s weights, from the element count: files with "fp16" in the name
    /// hold 2 bytes per weight, others are taken as 4 (fp32); the build stores 4 (fp32) or 2 (fp16) per weight. An estimate (8-bit kernels
    /// write less).
    /// </summary>
    public static long BuildBytes(HubVariant variant, BuildPrecision precision)
    {
        long elements = 0;
        foreach (var file in variant.Files.Where(f => f.Path.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            bool half = Path.GetFileName(file.Path).Contains("fp16", StringComparison.OrdinalIgnoreCase);
            elements += Math.Max(0, file.Size ?? 0) / (half ? 2 : 4);
        }
        return elements * (precision == BuildPrecision.Float16 ? 2 : 4);
    }

    private static async Task<string> RunAsync(HubOptions options, string repoId, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select, Func<HubDownloadProgress, IEnumerable<string>> announce,
        Terminal terminal, bool showProgress, CancellationToken ct)
    {
        using var client = new HubClient(options);
        // A complete cached snapshot is used without any request (HubClient does the same check); skip the progress display then.
        bool cached = options.Offline || (!options.CheckForUpdates && client.Cache.TryGetSnapshot($"{repoId}@{revision}", select) is not null);
        return await DownloadProgressView.RunAsync(terminal, showProgress && !cached, $"{repoId}@{revision}", announce,
            progress => client.DownloadAsync(repoId, revision, select, progress, ct)).ConfigureAwait(false);
    }

    /// <summary>"Downloading org/name@main (what): 21 files, 6.94 GB; 120 GB free in /home/me/.cache/huggingface/hub."</summary>
    private static string Announcement(HubOptions options, string what, HubDownloadProgress plan)
    {
        string size = plan.TotalSize >= 0 ? Units.Bytes(plan.TotalSize) : "unknown size";
        return $"Downloading {what}: {plan.FileCount} files, {size}; {DiskSpace.Describe(options.CacheDir)}.";
    }
}

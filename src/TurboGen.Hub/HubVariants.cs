namespace TurboGen.Hub;

/// <summary>
/// Which files of a repository to download for a model: the rule behind <c>turbogen generate/serve/bench/convert</c> and
/// <c>turbogen pull</c> (docs/CLI.md, "Which files are downloaded").
/// <para>
/// The rule: the repository's file list (with the sizes the Hub lists) gives up to three <see cref="Candidates(IReadOnlyList{HubRepoFile})"/> — the ONNX export,
/// the diffusers safetensors weights at one precision per component (fp16 when published), the root single-file checkpoint. Those that
/// cannot serve the request are dropped (an ONNX export when the weights themselves are needed: LoRA, other kernels). The rest are ranked
/// by (1) fit: an export made for CUDA comes last unless the provider runs such exports; (2) the bytes still to download, so a variant
/// already complete in the local cache (0 bytes) wins, and otherwise the smallest; (3) no build before build: ONNX export, then
/// safetensors folders, then the single file.
/// </para>
/// </summary>
public static class HubVariants
{
    /// <summary>Every variant the repository carries, in the order ONNX export, diffusers safetensors, single file.</summary>
    public static IReadOnlyList<HubVariant> Candidates(IReadOnlyList<HubRepoFile> files) => Candidates(files, checkpoint: null);

    /// <summary>
    /// As <see cref="Candidates(IReadOnlyList{HubRepoFile})"/>; with <paramref name="checkpoint"/> (<see cref="HubVariantNeeds.Checkpoint"/>)
    /// the only candidate is that root single file (none when the repository lacks it).
    /// </summary>
    public static IReadOnlyList<HubVariant> Candidates(IReadOnlyList<HubRepoFile> files, string? checkpoint)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (checkpoint is not null)
        {
            var named = HubFileSelector.SingleFileCheckpoint(files, checkpoint);
            return named.Count == 0 ? [] : [new HubVariant(HubVariantKind.SingleFile, named, checkpoint)];
        }
        var candidates = new List<HubVariant>();
        if (HubFileSelector.Onnx(files) is { Count: > 0 } onnx)
        {
            bool cuda = IsMadeForCuda(onnx);
            candidates.Add(new HubVariant(HubVariantKind.Onnx, onnx, cuda ? "made for CUDA" : "", cuda));
        }
        if (HubFileSelector.Safetensors(files) is { Count: > 0 } safetensors)
        {
            candidates.Add(new HubVariant(HubVariantKind.Safetensors, safetensors, WeightPrecision(safetensors)));
        }
        if (HubFileSelector.SingleFileCheckpoint(files) is { Count: > 0 } single)
        {
            var variant = new HubVariant(HubVariantKind.SingleFile, single, "");
            candidates.Add(variant with { Detail = variant.CheckpointPath! });
        }
        return candidates;
    }

    /// <summary>
    /// The variant to download by the rule in the class remarks, or null when no candidate can serve <paramref name="needs"/>.
    /// <paramref name="isLocal"/> tells whether a file's content is already in the local cache.
    /// </summary>
    public static HubVariant? Choose(IReadOnlyList<HubVariant> candidates, HubVariantNeeds needs, Func<HubRepoFile, bool> isLocal)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(needs);
        ArgumentNullException.ThrowIfNull(isLocal);
        return candidates.Where(v => CanServe(v, needs))
            .OrderBy(v => v.MadeForCuda && !needs.CudaExports)
            .ThenBy(v => MissingBytes(v, isLocal))
            .ThenBy(v => v.Kind)
            .FirstOrDefault();
    }

    /// <summary>False for an ONNX export when the weights themselves are needed (they are merged or re-packed at build time).</summary>
    public static bool CanServe(HubVariant variant, HubVariantNeeds needs)
    {
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(needs);
        return !(needs.Weights && variant.Kind == HubVariantKind.Onnx);
    }

    /// <summary>Bytes of the variant's files that <paramref name="isLocal"/> says are not in the cache yet (each blob once).</summary>
    public static long MissingBytes(HubVariant variant, Func<HubRepoFile, bool> isLocal)
    {
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(isLocal);
        return HubVariant.Bytes(variant.Files.Where(f => !isLocal(f)));
    }

    /// <summary>
    /// The parts a variant needs to load that are absent from its file list: for a list read from a snapshot folder on disk (a cache
    /// written by other tools has no saved file list), the only way to tell a partial download from a whole variant. ONNX:
    /// <c>unet/</c>, <c>text_encoder/</c> and <c>vae_decoder/</c> models and a <c>tokenizer/</c>; safetensors: <c>model_index.json</c>, a
    /// <c>tokenizer/</c>, and weights with a config.json in <c>unet/</c>, <c>text_encoder/</c> and <c>vae/</c>; a single file: the checkpoint.
    /// </summary>
    public static IReadOnlyList<string> MissingParts(HubVariant variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        var paths = variant.Files.Select(f => f.Path).ToList();
        bool Has(Func<string, bool> test) => paths.Any(test);
        bool In(string path, string folder, string suffix) =>
            path.StartsWith(folder + "/", StringComparison.Ordinal) && path.EndsWith(suffix, StringComparison.Ordinal);
        var missing = new List<string>();
        switch (variant.Kind)
        {
            case HubVariantKind.Onnx:
                foreach (string folder in new[] { "unet", "text_encoder", "vae_decoder" })
                {
                    if (!Has(p => In(p, folder, ".onnx"))) missing.Add(folder + "/*.onnx");
                }
                if (!Has(p => p.StartsWith("tokenizer/", StringComparison.Ordinal))) missing.Add("tokenizer/");
                break;
            case HubVariantKind.Safetensors:
                if (!paths.Contains("model_index.json")) missing.Add("model_index.json");
                if (!Has(p => p.StartsWith("tokenizer/", StringComparison.Ordinal))) missing.Add("tokenizer/");
                foreach (string folder in new[] { "unet", "text_encoder", "vae" })
                {
                    if (!Has(p => In(p, folder, ".safetensors"))) missing.Add(folder + "/*.safetensors");
                    if (!paths.Contains(folder + "/config.json")) missing.Add(folder + "/config.json");
                }
                break;
            case HubVariantKind.SingleFile:
                if (variant.CheckpointPath is null) missing.Add("the checkpoint");
                break;
        }
        return missing;
    }

    /// <summary>
    /// Olive's CUDA exports (onnxruntime/sdxl-turbo, tlwu/sd-turbo-onnxruntime) name external weights <c>model.onnx.data</c> or have no
    /// <c>unet/config.json</c>; Optimum's exports (which run on every provider) always write that config and name weights <c>model.onnx_data</c>.
    /// </summary>
    private static bool IsMadeForCuda(IReadOnlyList<HubRepoFile> onnx) =>
        onnx.Any(f => f.Path.EndsWith(".onnx.data", StringComparison.Ordinal)) || !onnx.Any(f => f.Path == "unet/config.json");

    /// <summary>"fp16" when every weight file is an fp16 variant, "fp16 where published" when only some are, "" for the plain files.</summary>
    private static string WeightPrecision(IReadOnlyList<HubRepoFile> files)
    {
        var precisions = files.Where(f => HubFileSelector.TopFolder(f.Path) is not null && f.Path.EndsWith(".safetensors", StringComparison.Ordinal))
            .Select(f => HubFileSelector.Precision(HubFileSelector.FileName(f.Path)))
            .Distinct()
            .ToList();
        return precisions switch
        {
            ["fp16"] => "fp16",
            _ when precisions.Contains("fp16") => "fp16 where published",
            _ => "",
        };
    }
}

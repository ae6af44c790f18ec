namespace TurboGen.Hub;

/// <summary>The three ways a diffusers-style repository can carry a model (see <see cref="HubVariants.Candidates(IReadOnlyList{HubRepoFile})"/>).</summary>
public enum HubVariantKind
{
    /// <summary>An ONNX export (Optimum or Olive layout): used as it is, no build.</summary>
    Onnx,

    /// <summary>The diffusers safetensors folders (one precision per component): built into ONNX locally.</summary>
    Safetensors,

    /// <summary>One original-layout checkpoint at the repository root (sd_xl_turbo_1.0_fp16.safetensors): built into ONNX locally.</summary>
    SingleFile,
}

/// <summary>
/// One candidate set of files of a repository that is a whole model: what <see cref="HubVariants.Choose"/> ranks.
/// </summary>
/// <param name="Kind">What the files are.</param>
/// <param name="Files">The files to download (a subset of the repository's list, in its order).</param>
/// <param name="Detail">How the files were picked, for people: "fp16" or "fp32" weights, the single file's name, "made for CUDA".</param>
/// <param name="MadeForCuda">
/// An ONNX export whose layout is the one ONNX Runtime's Olive tooling writes for the CUDA provider (external data named
/// <c>model.onnx.data</c>, or model folders without Optimum's <c>config.json</c>; docs/MODEL-CONTRACT.md §1.2–1.3): fp16 graphs with
/// CUDA-only fused operators, which other providers cannot run. A hint from the file list, not a certainty.
/// </param>
public sealed record HubVariant(HubVariantKind Kind, IReadOnlyList<HubRepoFile> Files, string Detail, bool MadeForCuda = false)
{
    /// <summary>"onnx", "safetensors" or "single-file" (the names <c>turbogen pull --variant</c> takes).</summary>
    public string Name => Kind switch
    {
        HubVariantKind.Onnx => "onnx",
        HubVariantKind.Safetensors => "safetensors",
        _ => "single-file",
    };

    /// <summary>True unless the files are an ONNX export: safetensors weights are built into ONNX before loading.</summary>
    public bool NeedsBuild => Kind != HubVariantKind.Onnx;

    /// <summary>Bytes of all the files (each blob once; files the listing gives no size for count 0).</summary>
    public long TotalSize => Bytes(Files);

    /// <summary>The repository path of the checkpoint for <see cref="HubVariantKind.SingleFile"/>, else null.</summary>
    public string? CheckpointPath => Kind == HubVariantKind.SingleFile
        ? Files.First(f => !f.Path.Contains('/', StringComparison.Ordinal) && f.Path.EndsWith(".safetensors", StringComparison.Ordinal)).Path
        : null;

    /// <summary>Bytes of <paramref name="files"/>, each blob once (files sharing content are stored and fetched once).</summary>
    internal static long Bytes(IEnumerable<HubRepoFile> files) =>
        files.DistinctBy(f => f.ExpectedEtag ?? "path:" + f.Path).Sum(f => Math.Max(0, f.Size ?? 0));
}

/// <summary>What the caller will do with the model, which decides which variants can serve it.</summary>
public sealed record HubVariantNeeds
{
    /// <summary>The weights themselves are needed (LoRA merging, other operator kernels): an ONNX export cannot serve.</summary>
    public bool Weights { get; init; }

    /// <summary>The execution provider runs ONNX exports made for CUDA (the cuda and tensorrt providers).</summary>
    public bool CudaExports { get; init; }

    /// <summary>
    /// The root single-file checkpoint to take (a repository with several, as ByteDance/SDXL-Lightning's
    /// <c>sdxl_lightning_4step.safetensors</c>): then that file is the only candidate.
    /// </summary>
    public string? Checkpoint { get; init; }
}

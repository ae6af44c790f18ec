namespace TurboGen.Merging;

/// <summary>How two or three checkpoints are combined, tensor by tensor.</summary>
public enum MergeMethod
{
    /// <summary>(1 − w) · A + w · B: interpolates two checkpoints of the same architecture.</summary>
    WeightedSum,

    /// <summary>A + (B − C) · w: adds what B learned over C to A (fine-tune + (turbo − base) makes a fine-tune few-step).</summary>
    AddDifference,
}

/// <summary>What happens to a tensor that A has and the other checkpoint(s) lack.</summary>
public enum OnlyInAPolicy
{
    /// <summary>Written unchanged from A (e.g. A's VAE or text encoder when B and C are UNet-only files).</summary>
    Keep,

    /// <summary>Left out of the output.</summary>
    Drop,

    /// <summary>The merge fails, naming the tensor.</summary>
    Error,
}

/// <summary>A merge request: the method, its weight and the rule for tensors only A has.</summary>
public sealed record CheckpointMergeOptions
{
    /// <summary>The formula (default: weighted sum).</summary>
    public MergeMethod Method { get; init; } = MergeMethod.WeightedSum;

    /// <summary>w in the formulas of <see cref="MergeMethod"/> (any finite number; 0…1 for a weighted sum, usually 1 for add-difference).</summary>
    public float Weight { get; init; } = 0.5f;

    /// <summary>What happens to tensors only A has (default: written unchanged).</summary>
    public OnlyInAPolicy OnlyInA { get; init; } = OnlyInAPolicy.Keep;

    /// <summary>Replace an existing output file (otherwise an existing file is an error).</summary>
    public bool Overwrite { get; init; }

    /// <summary>Elements per streamed chunk (the merge holds a few float32 buffers of this length per input).</summary>
    public int ChunkElements { get; init; } = 1 << 20;
}

/// <summary>
/// What a merge wrote: tensors merged by the formula, copied from A (integer tensors, or only in A under
/// <see cref="OnlyInAPolicy.Keep"/>), dropped, and the names B or C have that A lacks (not written).
/// </summary>
public sealed record CheckpointMergeReport(
    string Output,
    int Merged,
    int CopiedFromA,
    int Dropped,
    IReadOnlyList<string> NotInA,
    long BytesWritten);

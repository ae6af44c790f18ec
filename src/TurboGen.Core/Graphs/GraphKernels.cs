namespace TurboGen.Graphs;

/// <summary>
/// Which operator forms a built graph uses for its hot spots. <see cref="Standard"/> is plain ONNX (the reference numerics,
/// checked against the golden outputs); the others use ONNX Runtime's <c>com.microsoft</c> CPU contrib kernels and are
/// options because they change the numerics slightly (<see cref="FusedAttention"/>: summation order) or clearly
/// (<see cref="Int8MatMul"/>: quantized weights).
/// </summary>
public sealed record GraphKernels
{
    /// <summary>Unmasked attention as one <c>com.microsoft.MultiHeadAttention</c> node (no [heads, Tq, Tk] score tensor in memory).</summary>
    public bool FusedAttention { get; init; }

    /// <summary>
    /// Linear layers as <c>com.microsoft.MatMulNBits</c> with 8-bit weights quantized at build time (symmetric, one scale per
    /// block of 32 input channels) and activations quantized per block at run time (accuracy level 4: int8 VNNI dot products).
    /// Applied to the UNet and text encoders only; convolutions and the VAEs stay fp32.
    /// </summary>
    public bool Int8MatMul { get; init; }

    public static GraphKernels Standard { get; } = new();
    public static GraphKernels Fused { get; } = new() { FusedAttention = true };
    public static GraphKernels Int8 { get; } = new() { FusedAttention = true, Int8MatMul = true };

    /// <summary>The names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["standard", "fused", "int8"];

    /// <summary>"standard", "fused" or "int8" (part of the built-model cache key).</summary>
    public string Name => Int8MatMul ? "int8" : FusedAttention ? "fused" : "standard";

    public bool IsStandard => !FusedAttention && !Int8MatMul;

    /// <exception cref="InvalidRequestException">Not one of <see cref="Names"/>.</exception>
    public static GraphKernels Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "standard" or "fp32" => Standard,
        "fused" => Fused,
        "int8" => Int8,
        _ => throw new InvalidRequestException("kernels", $"Unknown graph kernels '{name}'. Known: {string.Join(", ", Names)}."),
    };
}

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
    /// Linear layers as <c>com.microsoft.MatMulNBits</c> with 8-bit weights quantized at build time (one scale per block of
    /// <see cref="Int8BlockSize"/> input channels, see <see cref="Int8Weights"/>), computed at <see cref="Int8AccuracyLevel"/>.
    /// Applied to the UNet and text encoders only; convolutions and the VAEs stay fp32.
    /// </summary>
    public bool Int8MatMul { get; init; }

    /// <summary>Input channels per quantization block (a power of two, 16 to 256; default 32).</summary>
    public int Int8BlockSize { get; init; } = 32;

    /// <summary>
    /// <c>MatMulNBits</c> accuracy_level: 4 = activations quantized to int8 per block at run time (int8/VNNI dot products);
    /// 1 = fp32 activations (weights dequantized on the fly, weight-only quantization).
    /// </summary>
    public int Int8AccuracyLevel { get; init; } = 4;

    /// <summary>Asymmetric blocks: scale = (max − min)/255 with a per-block zero point, instead of max|w|/127 around 128.</summary>
    public bool Int8ZeroPoints { get; init; }

    /// <summary>
    /// Linear layers kept in fp32 under <see cref="Int8MatMul"/>: a layer whose checkpoint prefix ends with one of these
    /// (e.g. <c>attn1.to_q</c>) or contains one followed by a dot (e.g. <c>time_embedding</c>) stays a plain MatMul.
    /// </summary>
    public IReadOnlyList<string> Int8FloatLayers { get; init; } = [];

    /// <summary><c>--kernels standard</c>: plain ONNX operators only (attention as MatMul/Softmax/MatMul, float MatMul for every Linear).</summary>
    public static GraphKernels Standard { get; } = new();

    /// <summary><c>--kernels fused</c>: attention as ONNX Runtime's fused contrib kernel; Linear layers stay float MatMul.</summary>
    public static GraphKernels Fused { get; } = new() { FusedAttention = true };

    /// <summary>
    /// Layers <see cref="Int8"/> keeps in fp32 (measured as the most error-sensitive on random SD-Turbo weights, docs/PERFORMANCE.md):
    /// the UNet's highest-resolution blocks and the transformers' proj_in/proj_out; the text encoders' value/output projections
    /// and first two layers.
    /// </summary>
    public static IReadOnlyList<string> Int8DefaultFloatLayers { get; } =
        ["down_blocks.0", "up_blocks.3", "proj_in", "proj_out", "v_proj", "out_proj", "layers.0", "layers.1"];

    /// <summary>
    /// <c>--kernels int8</c>: mixed precision that keeps the relative output error under 1e-2 on random weights: blocks of 16,
    /// int8 activations, <see cref="Int8DefaultFloatLayers"/> in fp32.
    /// </summary>
    public static GraphKernels Int8 { get; } = new() { FusedAttention = true, Int8MatMul = true, Int8BlockSize = 16, Int8FloatLayers = Int8DefaultFloatLayers };

    /// <summary><c>--kernels int8-all</c>: every Linear of the UNet and text encoders in 8 bits (blocks of 32): fastest, ~2.5 % error.</summary>
    public static GraphKernels Int8All { get; } = new() { FusedAttention = true, Int8MatMul = true };

    /// <summary>The names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["standard", "fused", "int8", "int8-all"];

    /// <summary>
    /// "standard", "fused", "int8", "int8-all", or for other int8 settings "int8-b{block}-a{level}[-zp][-f{n}]" with a short hash of the
    /// fp32 layer list (part of the built-model cache key, so each setting gets its own cache entry).
    /// </summary>
    public string Name
    {
        get
        {
            if (!Int8MatMul) return FusedAttention ? "fused" : "standard";
            if (Int8BlockSize == 32 && Int8AccuracyLevel == 4 && !Int8ZeroPoints && Int8FloatLayers.Count == 0 && FusedAttention) return "int8-all";
            if (Int8BlockSize == 16 && Int8AccuracyLevel == 4 && !Int8ZeroPoints && FusedAttention && Int8FloatLayers.SequenceEqual(Int8DefaultFloatLayers)) return "int8";
            string name = $"int8-b{Int8BlockSize}-a{Int8AccuracyLevel}" + (Int8ZeroPoints ? "-zp" : "") + (FusedAttention ? "" : "-unfused");
            if (Int8FloatLayers.Count > 0)
            {
                uint hash = 2166136261;
                foreach (char ch in string.Join("|", Int8FloatLayers)) hash = (hash ^ ch) * 16777619;
                name += $"-f{Int8FloatLayers.Count}x{hash:x8}";
            }
            return name;
        }
    }

    /// <summary>True when neither fused attention nor int8 MatMul is on (the graph uses standard ONNX operators only).</summary>
    public bool IsStandard => !FusedAttention && !Int8MatMul;

    /// <summary>Whether the Linear layer at checkpoint prefix <paramref name="prefix"/> is quantized (see <see cref="Int8FloatLayers"/>).</summary>
    public bool QuantizesLinear(string prefix) =>
        Int8MatMul && !Int8FloatLayers.Any(p => prefix.EndsWith(p, StringComparison.Ordinal) || prefix.Contains(p + ".", StringComparison.Ordinal));

    /// <exception cref="InvalidRequestException">Not one of <see cref="Names"/>.</exception>
    public static GraphKernels Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "standard" or "fp32" => Standard,
        "fused" => Fused,
        "int8" => Int8,
        "int8-all" => Int8All,
        _ => throw new InvalidRequestException("kernels", $"Unknown graph kernels '{name}'. Known: {string.Join(", ", Names)}."),
    };
}

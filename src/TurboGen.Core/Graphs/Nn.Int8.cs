using TurboGen.Weights;

namespace TurboGen.Graphs;

/// <summary>The int8 form of <see cref="Nn.Linear"/> (<see cref="GraphKernels.Int8MatMul"/>); the quantization itself is <see cref="Int8Weights"/>.</summary>
public sealed partial class Nn
{
    /// <summary>
    /// nn.Linear as <c>com.microsoft.MatMulNBits</c> with 8-bit weights: the weight [out,in] is quantized per block of
    /// <see cref="GraphKernels.Int8BlockSize"/> input channels (symmetric around 128, or with per-block zero points) and
    /// multiplied at <see cref="GraphKernels.Int8AccuracyLevel"/> (4: activations quantized per block at run time, int8 VNNI
    /// dot products; 1: fp32 activations). The bias is fused. Quantized bytes and scales are computed from the checkpoint when
    /// the model is written.
    /// </summary>
    private GraphValue QuantizedLinear(GraphValue x, string prefix, bool bias)
    {
        string key = prefix + ".weight";
        var s = LinearWeightShape(key);
        int blockSize = Kernels.Int8BlockSize;
        if (!Int8Weights.IsValidBlockSize(blockSize))
        {
            throw new InvalidRequestException("kernels", $"int8 block size {blockSize} is not a power of two from 16 to 256.");
        }
        long rows = s[0], cols = s[1];
        long blocks = (cols + blockSize - 1) / blockSize;
        var weights = Checkpoint;
        bool asymmetric = Kernels.Int8ZeroPoints;
        (byte[] Values, float[] Scales, byte[]? ZeroPoints) Quantize()
        {
            float[] w = weights.ReadFloat32(key);
            if (asymmetric)
            {
                return Int8Weights.QuantizeBlocksAsymmetric(w, (int)rows, (int)cols, blockSize);
            }
            var (values, scales) = Int8Weights.QuantizeBlocks(w, (int)rows, (int)cols, blockSize);
            return (values, scales, null);
        }
        // The weight is read and quantized once for its two or three initializers (written one after another), then released.
        (byte[] Values, float[] Scales, byte[]? ZeroPoints)? quantized = null;
        (byte[] Values, float[] Scales, byte[]? ZeroPoints) Take(bool last)
        {
            var result = quantized ?? Quantize();
            quantized = last ? null : result;
            return result;
        }
        GraphValue q = Graph.Weight(key + ".q8", ElementType.UInt8, [rows, blocks, blockSize], WeightData.FromWriter(rows * blocks * blockSize, stream =>
            stream.Write(Take(last: false).Values)));
        GraphValue scale = Graph.Weight(key + ".q8scale", ElementType.Float, [rows * blocks], WeightData.FromWriter(rows * blocks * 4, stream =>
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Take(last: !asymmetric).Scales.AsSpan()))));
        GraphValue zeroPoints = asymmetric
            ? Graph.Weight(key + ".q8zero", ElementType.UInt8, [rows * blocks], WeightData.FromWriter(rows * blocks, stream => stream.Write(Take(last: true).ZeroPoints!)))
            : GraphValue.None;
        var inputs = bias ? new[] { x, q, scale, zeroPoints, GraphValue.None, Param(prefix + ".bias") } : asymmetric ? new[] { x, q, scale, zeroPoints } : new[] { x, q, scale };
        return Graph.MsOp("MatMulNBits", inputs, ("K", cols), ("N", rows), ("bits", 8L), ("block_size", (long)blockSize), ("accuracy_level", (long)Kernels.Int8AccuracyLevel));
    }
}

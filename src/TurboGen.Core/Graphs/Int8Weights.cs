using System.Numerics.Tensors;

namespace TurboGen.Graphs;

/// <summary>Block-wise 8-bit quantization of Linear weights (for <see cref="GraphKernels.Int8MatMul"/>).</summary>
public static class Int8Weights
{
    /// <summary>The default number of input channels per quantization block of <see cref="QuantizeBlocks"/>.</summary>
    public const int BlockSize = 32;

    /// <summary>Whether <paramref name="blockSize"/> is one that <c>MatMulNBits</c> accepts (a power of two, 16 to 256).</summary>
    public static bool IsValidBlockSize(int blockSize) => blockSize is >= 16 and <= 256 && (blockSize & (blockSize - 1)) == 0;

    /// <summary>
    /// Block-wise symmetric 8-bit quantization for <c>MatMulNBits</c>: each row (output channel) of a row-major [rows, cols] weight is cut
    /// into blocks of <paramref name="blockSize"/> (the last one zero-padded); scale = max|w|/127 per block (1 for all zeros),
    /// q = round(w/scale) + 128 as a byte. Returns bytes [rows, blocks, blockSize] and scales [rows·blocks].
    /// </summary>
    public static (byte[] Values, float[] Scales) QuantizeBlocks(float[] weight, int rows, int cols, int blockSize = BlockSize)
    {
        var (values, scales, _) = Quantize(weight, rows, cols, blockSize, zeroPoints: false);
        return (values, scales);
    }

    /// <summary>
    /// Block-wise asymmetric 8-bit quantization: per block scale = (max − min)/255 over the block's values and 0 (so that 0 is
    /// exact), zero point z = round(−min/scale), q = clamp(round(w/scale) + z, 0, 255); dequantized as (q − z)·scale.
    /// Returns bytes [rows, blocks, blockSize] (padding holds z), scales and zero points [rows·blocks].
    /// </summary>
    public static (byte[] Values, float[] Scales, byte[] ZeroPoints) QuantizeBlocksAsymmetric(float[] weight, int rows, int cols, int blockSize = BlockSize)
    {
        var (values, scales, zeroPoints) = Quantize(weight, rows, cols, blockSize, zeroPoints: true);
        return (values, scales, zeroPoints!);
    }

    private static (byte[] Values, float[] Scales, byte[]? ZeroPoints) Quantize(float[] weight, int rows, int cols, int blockSize, bool zeroPoints)
    {
        if (weight.Length != (long)rows * cols)
        {
            throw new ArgumentException($"{weight.Length} values for a [{rows},{cols}] weight.", nameof(weight));
        }
        if (!IsValidBlockSize(blockSize))
        {
            throw new ArgumentException($"Block size {blockSize} is not a power of two from 16 to 256.", nameof(blockSize));
        }
        int blocks = (cols + blockSize - 1) / blockSize;
        var values = new byte[(long)rows * blocks * blockSize];
        var scales = new float[rows * blocks];
        var zeros = zeroPoints ? new byte[rows * blocks] : null;
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int start = b * blockSize, length = Math.Min(blockSize, cols - start);
                var block = weight.AsSpan(r * cols + start, length);
                var q = values.AsSpan((int)(((long)r * blocks + b) * blockSize), blockSize);
                float scale, zero;
                if (zeros is null)
                {
                    float max = Math.Abs(TensorPrimitives.MaxMagnitude(block));
                    scale = max > 0 ? max / 127f : 1f;
                    zero = 128;
                }
                else
                {
                    float min = Math.Min(0f, TensorPrimitives.Min(block)), max = Math.Max(0f, TensorPrimitives.Max(block));
                    scale = max > min ? (max - min) / 255f : 1f;
                    zero = Math.Clamp(MathF.Round(-min / scale), 0f, 255f);
                    zeros[r * blocks + b] = (byte)zero;
                }
                scales[r * blocks + b] = scale;
                float inv = 1f / scale, lo = zeros is null ? 1f : 0f;
                q.Fill((byte)zero);
                for (int i = 0; i < length; i++)
                {
                    q[i] = (byte)Math.Clamp(MathF.Round(block[i] * inv) + zero, lo, 255f);
                }
            }
        }
        return (values, scales, zeros);
    }
}

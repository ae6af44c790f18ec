namespace TurboGen.Graphs;

/// <summary>Block-wise symmetric 8-bit quantization of Linear weights (for <see cref="GraphKernels.Int8MatMul"/>).</summary>
public static class Int8Weights
{
    /// <summary>Input channels per quantization block of <see cref="QuantizeBlocks"/>.</summary>
    public const int BlockSize = 32;

    /// <summary>
    /// Block-wise 8-bit quantization for <c>MatMulNBits</c>: each row (output channel) of a row-major [rows, cols] weight is cut
    /// into blocks of <see cref="BlockSize"/> (the last one zero-padded); scale = max|w|/127 per block (1 for all zeros),
    /// q = round(w/scale) + 128 as a byte. Returns bytes [rows, blocks, BlockSize] and scales [rows·blocks].
    /// </summary>
    public static (byte[] Values, float[] Scales) QuantizeBlocks(float[] weight, int rows, int cols)
    {
        if (weight.Length != (long)rows * cols)
        {
            throw new ArgumentException($"{weight.Length} values for a [{rows},{cols}] weight.", nameof(weight));
        }
        int blocks = (cols + BlockSize - 1) / BlockSize;
        var values = new byte[(long)rows * blocks * BlockSize];
        var scales = new float[rows * blocks];
        values.AsSpan().Fill(128);
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int start = b * BlockSize, length = Math.Min(BlockSize, cols - start);
                var block = weight.AsSpan(r * cols + start, length);
                float max = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(block));
                float scale = max > 0 ? max / 127f : 1f;
                scales[r * blocks + b] = scale;
                float inv = 1f / scale;
                long offset = ((long)r * blocks + b) * BlockSize;
                for (int i = 0; i < length; i++)
                {
                    values[offset + i] = (byte)(Math.Clamp(MathF.Round(block[i] * inv), -127f, 127f) + 128);
                }
            }
        }
        return (values, scales);
    }
}

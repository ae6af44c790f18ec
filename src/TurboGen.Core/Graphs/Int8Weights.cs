namespace TurboGen.Graphs;

/// <summary>Symmetric per-output-channel int8 quantization of Linear weights (for <see cref="GraphKernels.Int8MatMul"/>).</summary>
public static class Int8Weights
{
    /// <summary>
    /// Quantizes a row-major [rows = out, cols = in] weight: scale_r = max|w_r|/127 (1 for an all-zero row),
    /// q = round(w/scale) clamped to [-127, 127]. Returns the int8 values (still [out, in]) and the scales.
    /// </summary>
    public static (sbyte[] Values, float[] Scales) Quantize(float[] weight, int rows, int cols)
    {
        if (weight.Length != (long)rows * cols)
        {
            throw new ArgumentException($"{weight.Length} values for a [{rows},{cols}] weight.", nameof(weight));
        }
        var values = new sbyte[weight.Length];
        var scales = new float[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = weight.AsSpan(r * cols, cols);
            float max = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row);
            max = Math.Abs(max);
            float scale = max > 0 ? max / 127f : 1f;
            scales[r] = scale;
            float inv = 1f / scale;
            for (int c = 0; c < cols; c++)
            {
                values[r * cols + c] = (sbyte)Math.Clamp(MathF.Round(row[c] * inv), -127f, 127f);
            }
        }
        return (values, scales);
    }

    /// <summary>[rows, cols] int8 → [cols, rows] bytes (the MatMul's B layout).</summary>
    public static byte[] Transposed(sbyte[] values, int rows, int cols)
    {
        var t = new byte[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[(long)c * rows + r] = unchecked((byte)values[r * cols + c]);
            }
        }
        return t;
    }
}

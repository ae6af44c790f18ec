using TurboGen.Graphs;

namespace TurboGen.Core.Tests.Graphs;

public sealed class Int8WeightsTests
{
    [Fact]
    public void QuantizeBlocks_ScalesPerBlock_OffsetsBy128_AndPadsTheLastBlock()
    {
        // 2 rows × 40 columns: blocks of 32 + 8 (padded with the zero code 128).
        int rows = 2, cols = 40;
        var w = new float[rows * cols];
        for (int c = 0; c < cols; c++)
        {
            w[c] = c < 32 ? (c - 16) / 16f : 0f;        // row 0: block 0 spans [-1, 0.9375], block 1 all zero
            w[cols + c] = c < 32 ? 0.5f : -2f;          // row 1: block 0 constant 0.5, block 1 constant -2
        }
        var (values, scales) = Int8Weights.QuantizeBlocks(w, rows, cols);

        Assert.Equal(rows * 2 * Int8Weights.BlockSize, values.Length);
        Assert.Equal(new[] { 1f / 127, 1f, 0.5f / 127, 2f / 127 }, scales);
        Assert.Equal(128 - 127, values[0]);                           // -1 → -127
        Assert.Equal(128 + (int)MathF.Round(0.9375f * 127), values[31]);
        Assert.All(values.AsSpan(32, 32).ToArray(), v => Assert.Equal(128, v));          // zero block and padding
        Assert.All(values.AsSpan(64, 32).ToArray(), v => Assert.Equal(255, v));          // 0.5 / (0.5/127) = 127
        Assert.All(values.AsSpan(96, 8).ToArray(), v => Assert.Equal(1, v));             // -2 → -127
        Assert.All(values.AsSpan(104, 24).ToArray(), v => Assert.Equal(128, v));         // padding
        Assert.Throws<ArgumentException>(() => Int8Weights.QuantizeBlocks(new float[3], 2, 2));
    }
}

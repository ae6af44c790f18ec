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

    [Fact]
    public void QuantizeBlocks_HonoursTheBlockSize_AndRejectsOnesMatMulNBitsCannotTake()
    {
        // 1 row × 20 columns in blocks of 16: [16 values of ±1, 4 values of 0.25 + 12 padding].
        var w = new float[20];
        for (int c = 0; c < 20; c++) w[c] = c < 16 ? (c % 2 == 0 ? 1f : -1f) : 0.25f;
        var (values, scales) = Int8Weights.QuantizeBlocks(w, 1, 20, blockSize: 16);
        Assert.Equal(32, values.Length);
        Assert.Equal(new[] { 1f / 127, 0.25f / 127 }, scales);
        Assert.Equal(new byte[] { 255, 1 }, values[..2]);
        Assert.All(values[16..20], v => Assert.Equal(255, v));
        Assert.All(values[20..], v => Assert.Equal(128, v));
        Assert.Throws<ArgumentException>(() => Int8Weights.QuantizeBlocks(w, 1, 20, blockSize: 24));
        Assert.Throws<ArgumentException>(() => Int8Weights.QuantizeBlocks(w, 1, 20, blockSize: 8));
    }

    [Fact]
    public void QuantizeBlocksAsymmetric_UsesTheBlockRange_AndDequantizesCloserForOneSidedBlocks()
    {
        // One block of 16 values in [0, 3]: scale 3/255, zero point 0; (q − z)·scale is within half a step of w.
        var w = new float[16];
        for (int c = 0; c < 16; c++) w[c] = 3f * c / 15;
        var (values, scales, zeros) = Int8Weights.QuantizeBlocksAsymmetric(w, 1, 16, blockSize: 16);
        Assert.Equal(3f / 255, scales[0], 6);
        Assert.Equal(0, zeros[0]);
        Assert.Equal(255, values[15]);
        var (symValues, symScales) = Int8Weights.QuantizeBlocks(w, 1, 16, blockSize: 16);
        double asymError = 0, symError = 0;
        for (int c = 0; c < 16; c++)
        {
            asymError = Math.Max(asymError, Math.Abs((values[c] - zeros[0]) * scales[0] - w[c]));
            symError = Math.Max(symError, Math.Abs((symValues[c] - 128) * symScales[0] - w[c]));
            Assert.True(Math.Abs((values[c] - zeros[0]) * scales[0] - w[c]) <= scales[0] / 2 + 1e-6);
        }
        Assert.True(asymError < symError, $"asymmetric {asymError} vs symmetric {symError}");

        // A block spanning [-1, 3]: zero point round(1/(4/255)) = 64, and 0 maps exactly to the zero point.
        w[0] = -1f; w[1] = 0f;
        (values, scales, zeros) = Int8Weights.QuantizeBlocksAsymmetric(w, 1, 16, blockSize: 16);
        Assert.Equal(64, zeros[0]);
        Assert.Equal(0, values[0]);
        Assert.Equal(64, values[1]);
    }

    [Fact]
    public void GraphKernels_Int8Settings_NameTheirCacheEntry_AndSelectTheQuantizedLayers()
    {
        Assert.Equal("int8", GraphKernels.Int8.Name);
        Assert.Equal("int8-all", GraphKernels.Int8All.Name);
        Assert.Same(GraphKernels.Int8All, GraphKernels.Parse("int8-all"));
        Assert.False(GraphKernels.Int8.QuantizesLinear("text_model.encoder.layers.1.self_attn.q_proj"));
        Assert.True(GraphKernels.Int8.QuantizesLinear("text_model.encoder.layers.10.self_attn.q_proj"));
        Assert.False(GraphKernels.Int8.QuantizesLinear("text_model.encoder.layers.10.self_attn.out_proj"));
        var mixed = GraphKernels.Int8All with { Int8BlockSize = 16, Int8FloatLayers = ["to_v", "down_blocks.0"] };
        Assert.StartsWith("int8-b16-a4-f2x", mixed.Name);
        Assert.NotEqual(mixed.Name, (mixed with { Int8FloatLayers = ["to_v"] }).Name);
        Assert.Equal("int8-b32-a1-zp", (GraphKernels.Int8All with { Int8AccuracyLevel = 1, Int8ZeroPoints = true }).Name);
        Assert.False(mixed.QuantizesLinear("mid_block.attentions.0.transformer_blocks.0.attn1.to_v"));
        Assert.False(mixed.QuantizesLinear("down_blocks.0.attentions.0.proj_in"));
        Assert.True(mixed.QuantizesLinear("down_blocks.1.attentions.0.proj_in"));
        Assert.True(mixed.QuantizesLinear("mid_block.attentions.0.transformer_blocks.0.attn1.to_q"));
        Assert.False(GraphKernels.Fused.QuantizesLinear("mid_block.attentions.0.transformer_blocks.0.attn1.to_q"));
    }
}

using TurboGen.Checkpoints.Lora;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Checkpoints.Lora.LoraTestSupport;

namespace TurboGen.Core.Tests.Checkpoints.Lora;

/// <summary>
/// LoRA merges by weight shape: conv LoRAs on 3×3 convolutions (per kernel tap), 1×1-conv-shaped factors on a Linear and the
/// reverse, and a large matrix merged in parallel blocks equal to the sequential product.
/// </summary>
public sealed class LoraWeightShapeTests(ITestOutputHelper output) : LoraMergeTestBase(output)
{
    // ---- (f) conv LoRA on 3×3 convs ---------------------------------------------------------------------

    [Fact]
    public void ConvLora_On3x3Convs_MergesPerKernelTap()
    {
        TestLoraLayer[] layers =
        [
            UnetLayer("down_blocks.1.resnets.1.conv1", 4, 100, alpha: 2f),      // [32,32,3,3]
            UnetLayer("up_blocks.2.resnets.0.conv1", 4, 101, alpha: 4f),        // [32,64,3,3]
            UnetLayer("down_blocks.0.downsamplers.0.conv", 2, 102),             // stride-2 conv
            UnetLayer("conv_in", 2, 103),                                       // [32,4,3,3]
        ];
        Assert.All(layers, l => Assert.Equal(4, l.DownShape.Length));
        Assert.All(layers, l => Assert.Equal([l.UpShape[0], l.Rank, 1L, 1L], l.UpShape));
        using var lora = LoraAdapter.Open(Write(TempFile("conv.safetensors"), TestLoraNaming.Kohya, layers));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 0.6f)], LoraComponent.Unet);

        // Element level: W'[o,i,kh,kw] = W + 0.6 · (alpha/r) · Σ_r up[o,r] · down[r,i,kh,kw].
        foreach (var layer in layers)
        {
            float[] w = unet.ReadFloat32(layer.BaseKey), m = merged.ReadFloat32(layer.BaseKey);
            double[] delta = layer.Delta();
            Assert.Equal(w.Length, delta.Length);
            for (int i = 0; i < w.Length; i++)
            {
                Assert.True(Math.Abs(m[i] - (w[i] + 0.6 * delta[i])) <= 1e-6, $"{layer.BaseKey}[{i}]");
            }
        }
        float[] expected = RunUnet(WriteHandMerged(UnetWeights, TempFile("conv-merged.safetensors"), LoraComponent.Unet, (layers, 0.6f)));
        float[] actual = RunUnet(merged);
        AssertClose(expected, actual, MergeTolerance, "conv LoRA vs hand-merged");
        AssertDifferent(RunUnet(UnetWeights), actual, "conv LoRA vs base");
    }

    [Fact]
    public void OneByOneConvShapedLora_FitsALinear_AndLinearShapedLora_FitsAOneByOneConv()
    {
        // SD-1.x-style LoRAs store proj_in as a 1×1 conv; SDXL's proj_in is a Linear [32,32]. The reverse for conv_shortcut [32,64,1,1].
        var linear = UnetLayer("down_blocks.1.attentions.0.proj_in", 4, 160);
        var convShaped = linear with { DownShape = [4, 32, 1, 1], UpShape = [32, 4, 1, 1] };
        var conv = UnetLayer("up_blocks.2.resnets.0.conv_shortcut", 4, 161);
        var linearShaped = conv with { DownShape = [4, 64], UpShape = [32, 4] };
        using var lora = LoraAdapter.Open(Write(TempFile("shapes.safetensors"), TestLoraNaming.Kohya, convShaped, linearShaped));
        using var unet = new SafetensorsCheckpoint(UnetWeights);
        var merged = new LoraMergedCheckpoint(unet, [(lora, 1f)], LoraComponent.Unet);

        Assert.Empty(merged.Problems);
        foreach (var layer in new[] { linear, conv })
        {
            float[] w = unet.ReadFloat32(layer.BaseKey), m = merged.ReadFloat32(layer.BaseKey);
            double[] delta = layer.Delta();
            for (int i = 0; i < w.Length; i++)
            {
                Assert.True(Math.Abs(m[i] - (w[i] + delta[i])) <= 1e-6, $"{layer.BaseKey}[{i}]");
            }
        }
    }

    [Fact]
    public void LargeMatrix_MergedInParallelBlocks_EqualsTheSequentialProduct()
    {
        // 640×1024 with rank 8 is above the parallel threshold; compare against a plain double loop.
        const int rows = 640, cols = 1024, rank = 8;
        var layer = TestLoraLayer.Random(LoraComponent.Unet, "big", [rows, cols], rank, 170, alpha: 4f);
        var rng = new Random(171);
        float[] w = Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        byte[] bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).ToArray();

        LoraMergedCheckpoint.AddLowRankProduct(bytes, layer.Up, layer.Down, rank, 0.3f * 4f / rank);

        float[] merged = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        double[] delta = layer.Delta();
        for (int i = 0; i < w.Length; i++)
        {
            Assert.True(Math.Abs(merged[i] - (w[i] + 0.3 * delta[i])) <= 1e-5, $"element {i}");
        }
    }
}

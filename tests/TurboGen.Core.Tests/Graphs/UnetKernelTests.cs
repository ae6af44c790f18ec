using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Graphs.UnetTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The UNet's graph kernels against the golden cases: fused MultiHeadAttention, int8 on every Linear, and mixed int8 with zero
/// points and small blocks.
/// </summary>
public sealed class UnetKernelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void FusedAttentionKernels_MatchGolden_WithMultiHeadAttentionNodes(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint,
            new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = GraphKernels.Fused });
        Assert.Contains(graph.Nodes, n => n.OpType == "MultiHeadAttention" && n.Domain == GraphBuilder.MicrosoftDomain);
        Assert.DoesNotContain(graph.Nodes, n => n.OpType == "Softmax");
        using var session = NewSession(graph.ToBytes());
        AssertClose(output, golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), caseName + " fused");
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Int8Kernels_QuantizeEveryLinear_AndStayNearGolden(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint,
            new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = GraphKernels.Int8All });
        int linears = checkpoint.Names.Count(n => n.EndsWith(".weight", StringComparison.Ordinal) && checkpoint.Shape(n).Length == 2);
        Assert.Equal(linears, graph.Nodes.Count(n => n.OpType == "MatMulNBits"));
        using var session = NewSession(graph.ToBytes());
        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
        double rel = GoldenTensors.RelativeError(actual, golden.Expected);
        output.WriteLine($"{caseName} int8: relative error {rel:E2}");
        Assert.InRange(rel, 1e-6, 1e-1);   // quantized (not bit-exact) but close: the tiny golden UNets land at 2–5 %
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void Int8MixedPrecision_KeepsTheListedLayersFloat_WithZeroPointsAndSmallBlocks(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var kernels = GraphKernels.Int8 with { Int8ZeroPoints = true };
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = kernels });
        var linears = checkpoint.Names.Where(n => n.EndsWith(".weight", StringComparison.Ordinal) && checkpoint.Shape(n).Length == 2)
            .Select(n => n[..^".weight".Length]).ToList();
        int quantized = linears.Count(kernels.QuantizesLinear);
        Assert.InRange(quantized, 1, linears.Count - 1);
        var nbits = graph.Nodes.Where(n => n.OpType == "MatMulNBits").ToList();
        Assert.Equal(quantized, nbits.Count);
        Assert.All(nbits, n => Assert.Equal(16, n.Attribute.Single(a => a.Name == "block_size").I));
        Assert.All(nbits, n => Assert.EndsWith(".q8zero", n.Input[3]));
        using var session = NewSession(graph.ToBytes());
        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));
        double rel = GoldenTensors.RelativeError(actual, golden.Expected);
        output.WriteLine($"{caseName} int8 mixed, zero points: relative error {rel:E2}");
        Assert.InRange(rel, 1e-6, 5e-2);
    }
}

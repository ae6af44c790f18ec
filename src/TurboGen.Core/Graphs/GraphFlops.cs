using System.Runtime.InteropServices;
using Onnx;

namespace TurboGen.Graphs;

/// <summary>The arithmetic of one ONNX graph at given input shapes: multiply-add FLOPs (2 per MAC) by operator type.</summary>
public sealed record FlopCount(long Total, IReadOnlyDictionary<string, long> ByOp, int CountedNodes, IReadOnlyList<string> Uncounted)
{
    /// <summary>True when every Conv/MatMul-like node had known shapes (the total is exact, not a lower bound).</summary>
    public bool IsComplete => Uncounted.Count == 0;

    /// <summary><see cref="Total"/> in units of 10¹² FLOPs.</summary>
    public double Teraflops => Total / 1e12;
}

/// <summary>
/// Counts the FLOPs of an ONNX graph by walking it with shape propagation at concrete input shapes.
/// <para>
/// How it works: the graph's inputs get the given shapes and every initializer its declared dims (so a model whose weights
/// live in external data is analysed from <c>model.onnx</c> alone). Nodes are visited in order (ONNX graphs are
/// topologically sorted) and each operator's output shape is derived from its inputs; small int64 tensors (shape
/// arithmetic: <c>Shape</c>, <c>Constant</c>, int64 initializers, <c>Concat</c>/<c>Gather</c>/<c>Slice</c>/<c>Unsqueeze</c>
/// of them) are also evaluated, so <c>Reshape</c>/<c>Expand</c>/<c>Resize</c> targets are known. Work is counted as 2 FLOPs per
/// multiply-accumulate in the operators that dominate diffusion models: <c>Conv</c> (incl. groups), <c>MatMul</c> and
/// <c>Gemm</c> (attention's Q·Kᵀ and P·V included, batch axes broadcast), their quantized and fused forms
/// (<c>MatMulInteger</c>, <c>DynamicQuantizeMatMul</c>, <c>MatMulNBits</c>, <c>FusedMatMul</c>, <c>FusedConv</c>) and
/// <c>com.microsoft</c> <c>MultiHeadAttention</c> (the two attention products). Element-wise work, normalisations and
/// softmax are ignored (a few % of the total). A Conv/MatMul-like node whose input shapes cannot be derived is listed in
/// <see cref="FlopCount.Uncounted"/> rather than guessed.
/// </para>
/// </summary>
public static class GraphFlops
{
    /// <summary>Counts <paramref name="model"/> at <paramref name="inputShapes"/> (graph input name → concrete shape).</summary>
    public static FlopCount Count(ModelProto model, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(model);
        var walker = new FlopWalker();
        foreach (var init in model.Graph.Initializer)
        {
            walker.Shapes[init.Name] = [.. init.Dims];
            if (init.DataType == (int)ElementType.Int64 && init.Dims.Aggregate(1L, (a, b) => a * b) <= 64)
            {
                walker.Values[init.Name] = Int64Values(init);
            }
            else if (init.DataType == (int)ElementType.Float && !init.RawData.IsEmpty && init.RawData.Length <= 64)
            {
                walker.AddFloatConstant(init.Name, MemoryMarshal.Cast<byte, float>(init.RawData.Span).ToArray());
            }
            else if (init.DataType == (int)ElementType.Float && init.FloatData.Count is > 0 and <= 16)
            {
                walker.AddFloatConstant(init.Name, [.. init.FloatData]);
            }
        }
        foreach (var input in model.Graph.Input)
        {
            if (inputShapes.TryGetValue(input.Name, out var shape))
            {
                walker.Shapes[input.Name] = shape;
            }
            else if (!walker.Shapes.ContainsKey(input.Name) && input.Type?.TensorType?.Shape is { } declared
                && declared.Dim.All(d => d.HasDimValue))
            {
                walker.Shapes[input.Name] = declared.Dim.Select(d => d.DimValue).ToArray();
            }
        }
        foreach (var node in model.Graph.Node)
        {
            walker.Visit(node);
        }
        return new FlopCount(walker.ByOp.Values.Sum(), walker.ByOp, walker.Counted, walker.Uncounted);
    }

    /// <summary>Counts a graph being built (weights are not materialised, except the small constants that describe shapes).</summary>
    public static FlopCount Count(GraphBuilder graph, IReadOnlyDictionary<string, long[]> inputShapes) =>
        Count(graph.ToModel("weights.bin", 1024, out _), inputShapes);

    /// <summary>Reads <c>model.onnx</c> (the graph only; external weight data is not touched) and counts it.</summary>
    public static FlopCount Count(string modelPath, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        using var stream = File.OpenRead(modelPath);
        return Count(ModelProto.Parser.ParseFrom(stream), inputShapes);
    }

    internal static long[] Int64Values(TensorProto t)
    {
        if (t.Int64Data.Count > 0) return [.. t.Int64Data];
        if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
        return [];
    }
}

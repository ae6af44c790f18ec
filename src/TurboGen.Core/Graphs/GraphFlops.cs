using System.Runtime.InteropServices;
using Onnx;

namespace TurboGen.Graphs;

/// <summary>The arithmetic of one ONNX graph at given input shapes: multiply-add FLOPs (2 per MAC) by operator type.</summary>
public sealed record FlopCount(long Total, IReadOnlyDictionary<string, long> ByOp, int CountedNodes, IReadOnlyList<string> Uncounted)
{
    /// <summary>True when every Conv/MatMul-like node had known shapes (the total is exact, not a lower bound).</summary>
    public bool IsComplete => Uncounted.Count == 0;

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
        var walker = new Walker();
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

    private static long[] Int64Values(TensorProto t)
    {
        if (t.Int64Data.Count > 0) return [.. t.Int64Data];
        if (!t.RawData.IsEmpty) return MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray();
        return [];
    }

    private sealed class Walker
    {
        public readonly Dictionary<string, long[]> Shapes = new(StringComparer.Ordinal);
        public readonly Dictionary<string, long[]> Values = new(StringComparer.Ordinal);
        public readonly Dictionary<string, long> ByOp = new(StringComparer.Ordinal);
        public readonly List<string> Uncounted = [];
        public int Counted;

        private long[]? S(NodeProto n, int i) => i < n.Input.Count && n.Input[i].Length > 0 && Shapes.TryGetValue(n.Input[i], out var s) ? s : null;
        private long[]? V(NodeProto n, int i) => i < n.Input.Count && n.Input[i].Length > 0 && Values.TryGetValue(n.Input[i], out var v) ? v : null;

        private void Set(NodeProto n, long[]? shape, long[]? value = null, int output = 0)
        {
            if (output >= n.Output.Count) return;
            if (shape is not null) Shapes[n.Output[output]] = shape;
            if (value is not null) Values[n.Output[output]] = value;
        }

        private void Add(NodeProto n, long flops)
        {
            string key = n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}";
            ByOp[key] = ByOp.GetValueOrDefault(key) + flops;
            Counted++;
        }

        private void Missing(NodeProto n) => Uncounted.Add($"{n.OpType} {n.Name}");

        public void Visit(NodeProto n)
        {
            var x = S(n, 0);
            switch (n.OpType)
            {
                case "Conv" or "FusedConv" or "NchwcConv":
                    Conv(n, x);
                    return;
                case "MatMul" or "FusedMatMul" or "MatMulInteger" or "DynamicQuantizeMatMul" or "MatMulIntegerToFloat" or "QLinearMatMul":
                    MatMulLike(n, x, S(n, n.OpType == "QLinearMatMul" ? 3 : 1));
                    return;
                case "MatMulNBits":
                    MatMulNBits(n, x);
                    return;
                case "Gemm":
                    Gemm(n, x, S(n, 1));
                    return;
                case "MultiHeadAttention":
                    MultiHeadAttention(n, x, S(n, 1));
                    return;
                case "Constant":
                    Constant(n);
                    return;
                case "Shape":
                    if (x is null) return;
                    long start = Norm(Attr(n, "start") ?? 0, x.Length, clamp: true), end = Norm(Attr(n, "end") ?? x.Length, x.Length, clamp: true);
                    var dims = x[(int)start..(int)Math.Max(start, end)];
                    Set(n, [dims.Length], dims);
                    return;
                case "Reshape":
                    Set(n, ReshapeTo(x, V(n, 1)));
                    return;
                case "Transpose":
                    if (x is null) return;
                    long[] perm = Ints(n, "perm") ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray();
                    Set(n, perm.Select(p => x[p]).ToArray());
                    return;
                case "Unsqueeze":
                    Unsqueeze(n, x, V(n, 1) ?? Ints(n, "axes"));
                    return;
                case "Squeeze":
                    Squeeze(n, x, V(n, 1) ?? Ints(n, "axes"));
                    return;
                case "Concat":
                    Concat(n);
                    return;
                case "Split":
                    Split(n, x);
                    return;
                case "Slice":
                    Slice(n, x);
                    return;
                case "Gather":
                    Gather(n, x, S(n, 1));
                    return;
                case "GatherND":
                    GatherNd(n, x, S(n, 1));
                    return;
                case "Expand":
                    if (x is null || V(n, 1) is not { } target) return;
                    Set(n, Broadcast(x, target), V(n, 0) is { Length: 1 } one ? Enumerable.Repeat(one[0], (int)target.Aggregate(1L, (a, b) => a * b)).ToArray() : null);
                    return;
                case "Resize" or "Upsample":
                    Resize(n, x);
                    return;
                case "ReduceMean" or "ReduceSum" or "ReduceMax" or "ArgMax" or "ArgMin":
                    Reduce(n, x);
                    return;
                case "ConstantOfShape":
                    if (V(n, 0) is { } cs) Set(n, cs);
                    return;
                case "Cast" or "Identity":
                    Set(n, x, V(n, 0));
                    return;
                case "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Equal" or "Where" or "Less" or "Greater" or "And" or "Or" or "Max" or "Min":
                    Elementwise(n);
                    return;
                case "If" or "Loop" or "Scan":
                    return;
                default:
                    // Unary element-wise ops and normalisations keep the shape of their first input
                    // (Sigmoid, Tanh, Relu, Erf, Sqrt, Softmax, LayerNormalization, InstanceNormalization, GroupNorm, Gelu, …).
                    Set(n, x);
                    for (int i = 1; i < n.Output.Count; i++) Set(n, null);
                    return;
            }
        }

        private void Conv(NodeProto n, long[]? x)
        {
            var w = S(n, 1);
            if (x is null || w is null || x.Length != 4 || w.Length != 4)
            {
                Missing(n);
                return;
            }
            long[] strides = Ints(n, "strides") ?? [1, 1];
            long[] dil = Ints(n, "dilations") ?? [1, 1];
            long[] pads = Ints(n, "pads") ?? [0, 0, 0, 0];
            long outH = (x[2] + pads[0] + pads[2] - dil[0] * (w[2] - 1) - 1) / strides[0] + 1;
            long outW = (x[3] + pads[1] + pads[3] - dil[1] * (w[3] - 1) - 1) / strides[1] + 1;
            Set(n, [x[0], w[0], outH, outW]);
            Add(n, 2L * x[0] * w[0] * outH * outW * w[1] * w[2] * w[3]);
        }

        private void MatMulLike(NodeProto n, long[]? a, long[]? b)
        {
            if (a is null || b is null || a.Length == 0 || b.Length == 0)
            {
                Missing(n);
                return;
            }
            long[] a2 = a.Length == 1 ? [1, a[0]] : a;
            long[] b2 = b.Length == 1 ? [b[0], 1] : b;
            long m = a2[^2], k = a2[^1], cols = b2[^1];
            var batch = Broadcast(a2[..^2], b2[..^2]);
            var shape = batch.Concat(new[] { m, cols }).ToList();
            if (a.Length == 1) shape.RemoveAt(shape.Count - 2);
            if (b.Length == 1) shape.RemoveAt(shape.Count - 1);
            Set(n, [.. shape]);
            Add(n, 2L * batch.Aggregate(1L, (p, d) => p * d) * m * k * cols);
        }

        private void MatMulNBits(NodeProto n, long[]? a)
        {
            long? k = Attr(n, "K"), cols = Attr(n, "N");
            if (a is null || k is null || cols is null)
            {
                Missing(n);
                return;
            }
            Set(n, [.. a[..^1], cols.Value]);
            Add(n, 2L * a[..^1].Aggregate(1L, (p, d) => p * d) * k.Value * cols.Value);
        }

        private void Gemm(NodeProto n, long[]? a, long[]? b)
        {
            if (a is null || b is null || a.Length != 2 || b.Length != 2)
            {
                Missing(n);
                return;
            }
            bool ta = Attr(n, "transA") == 1, tb = Attr(n, "transB") == 1;
            long m = ta ? a[1] : a[0], k = ta ? a[0] : a[1], cols = tb ? b[0] : b[1];
            Set(n, [m, cols]);
            Add(n, 2L * m * k * cols);
        }

        /// <summary>com.microsoft MultiHeadAttention with separate query [B,S,C], key [B,L,C], value [B,L,Cv]: Q·Kᵀ and P·V.</summary>
        private void MultiHeadAttention(NodeProto n, long[]? q, long[]? k)
        {
            var v = S(n, 2);
            if (q is null || k is null || v is null || q.Length != 3 || k.Length != 3 || v.Length != 3)
            {
                Missing(n);
                return;
            }
            Set(n, [q[0], q[1], v[2]]);
            Add(n, 2L * q[0] * q[1] * k[1] * q[2] + 2L * q[0] * q[1] * k[1] * v[2]);
        }

        private void Constant(NodeProto n)
        {
            var t = n.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
            if (t is not null)
            {
                long[] dims = [.. t.Dims];
                Set(n, dims, t.DataType == (int)ElementType.Int64 && dims.Aggregate(1L, (a, b) => a * b) <= 64 ? Int64Values(t) : null);
                return;
            }
            if (n.Attribute.FirstOrDefault(a => a.Name == "value_ints") is { } ints) Set(n, [ints.Ints.Count], [.. ints.Ints]);
            else if (n.Attribute.FirstOrDefault(a => a.Name == "value_int") is { } one) Set(n, [], [one.I]);
            else if (n.Attribute.FirstOrDefault(a => a.Name == "value_float") is not null) Set(n, []);
        }

        private static long[]? ReshapeTo(long[]? x, long[]? target)
        {
            if (x is null || target is null) return null;
            var shape = new long[target.Length];
            long known = 1;
            int infer = -1;
            for (int i = 0; i < target.Length; i++)
            {
                shape[i] = target[i] == 0 && i < x.Length ? x[i] : target[i];
                if (shape[i] == -1) infer = i; else known *= shape[i];
            }
            if (infer >= 0) shape[infer] = known == 0 ? 0 : x.Aggregate(1L, (a, b) => a * b) / known;
            return shape;
        }

        private void Unsqueeze(NodeProto n, long[]? x, long[]? axes)
        {
            if (x is null || axes is null) return;
            int rank = x.Length + axes.Length;
            var norm = axes.Select(a => a < 0 ? a + rank : a).ToHashSet();
            var shape = new long[rank];
            for (int i = 0, j = 0; i < rank; i++) shape[i] = norm.Contains(i) ? 1 : x[j++];
            Set(n, shape, V(n, 0));
        }

        private void Squeeze(NodeProto n, long[]? x, long[]? axes)
        {
            if (x is null) return;
            var norm = (axes ?? Enumerable.Range(0, x.Length).Where(i => x[i] == 1).Select(i => (long)i).ToArray())
                .Select(a => a < 0 ? a + x.Length : a).ToHashSet();
            Set(n, x.Where((_, i) => !norm.Contains(i)).ToArray(), V(n, 0));
        }

        private void Concat(NodeProto n)
        {
            var shapes = Enumerable.Range(0, n.Input.Count).Select(i => S(n, i)).ToList();
            if (shapes.Any(s => s is null)) return;
            long axis = Norm(Attr(n, "axis") ?? 0, shapes[0]!.Length, clamp: false);
            var shape = (long[])shapes[0]!.Clone();
            shape[axis] = shapes.Sum(s => s![axis]);
            var values = Enumerable.Range(0, n.Input.Count).Select(i => V(n, i)).ToList();
            Set(n, shape, shape.Length == 1 && values.All(v => v is not null) ? values.SelectMany(v => v!).ToArray() : null);
        }

        private void Split(NodeProto n, long[]? x)
        {
            if (x is null) return;
            long axis = Norm(Attr(n, "axis") ?? 0, x.Length, clamp: false);
            long[] sizes = V(n, 1) ?? Ints(n, "split") ?? Enumerable.Repeat(x[axis] / n.Output.Count, n.Output.Count).ToArray();
            for (int i = 0; i < n.Output.Count && i < sizes.Length; i++)
            {
                var shape = (long[])x.Clone();
                shape[axis] = sizes[i];
                Set(n, shape, output: i);
            }
        }

        private void Slice(NodeProto n, long[]? x)
        {
            long[]? starts = V(n, 1) ?? Ints(n, "starts"), ends = V(n, 2) ?? Ints(n, "ends");
            if (x is null || starts is null || ends is null) return;
            long[] axes = V(n, 3) ?? Ints(n, "axes") ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            long[] steps = V(n, 4) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
            var shape = (long[])x.Clone();
            var value = V(n, 0);
            for (int i = 0; i < axes.Length; i++)
            {
                long axis = Norm(axes[i], x.Length, clamp: false), dim = x[axis], step = steps[i];
                long s = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
                long e = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], step < 0 ? -1 : 0, dim);
                shape[axis] = step > 0 ? Math.Max(0, (e - s + step - 1) / step) : Math.Max(0, (s - e - step - 1) / -step);
                if (value is not null && x.Length == 1 && step == 1) value = value[(int)s..(int)Math.Max(s, e)];
                else value = null;
            }
            Set(n, shape, value);
        }

        private void Gather(NodeProto n, long[]? x, long[]? indices)
        {
            if (x is null || indices is null) return;
            long axis = Norm(Attr(n, "axis") ?? 0, x.Length, clamp: false);
            var shape = x[..(int)axis].Concat(indices).Concat(x[(int)(axis + 1)..]).ToArray();
            long[]? value = null;
            if (V(n, 0) is { } data && V(n, 1) is { } idx && x.Length == 1)
            {
                value = idx.Select(i => data[i < 0 ? i + data.Length : i]).ToArray();
            }
            Set(n, shape, value);
        }

        private void GatherNd(NodeProto n, long[]? x, long[]? indices)
        {
            if (x is null || indices is null) return;
            int batchDims = (int)(Attr(n, "batch_dims") ?? 0);
            Set(n, indices[..^1].Concat(x[(batchDims + (int)indices[^1])..]).ToArray());
        }

        private void Resize(NodeProto n, long[]? x)
        {
            if (x is null) return;
            if (V(n, 3) is { } sizes)
            {
                Set(n, sizes);
                return;
            }
            // scales are float: read them from the initializer/constant raw data when present
            if (n.Input.Count > 2 && FloatValues(n.Input[2]) is { } scales && scales.Length == x.Length)
            {
                Set(n, x.Select((d, i) => (long)Math.Floor(d * scales[i])).ToArray());
            }
            else if (Ints(n, "scales") is null && n.Attribute.FirstOrDefault(a => a.Name == "scales") is { } attr)
            {
                Set(n, x.Select((d, i) => (long)Math.Floor(d * attr.Floats[i])).ToArray());
            }
        }

        private readonly Dictionary<string, float[]> _floats = new(StringComparer.Ordinal);
        public void AddFloatConstant(string name, float[] values) => _floats[name] = values;
        private float[]? FloatValues(string name) => _floats.GetValueOrDefault(name);

        private void Reduce(NodeProto n, long[]? x)
        {
            if (x is null) return;
            bool keep = (Attr(n, "keepdims") ?? 1) == 1;
            long[] axes = n.OpType is "ArgMax" or "ArgMin" ? [Attr(n, "axis") ?? 0] : V(n, 1) ?? Ints(n, "axes") ?? Enumerable.Range(0, x.Length).Select(i => (long)i).ToArray();
            var norm = axes.Select(a => Norm(a, x.Length, clamp: false)).ToHashSet();
            var shape = new List<long>();
            for (int i = 0; i < x.Length; i++)
            {
                if (!norm.Contains(i)) shape.Add(x[i]);
                else if (keep) shape.Add(1);
            }
            Set(n, [.. shape]);
        }

        private void Elementwise(NodeProto n)
        {
            var shapes = Enumerable.Range(0, n.Input.Count).Select(i => S(n, i)).ToList();
            if (shapes.Any(s => s is null)) return;
            var shape = shapes.Aggregate((a, b) => Broadcast(a!, b!))!;
            long[]? value = null;
            if (n.OpType is "Add" or "Sub" or "Mul" or "Div" && V(n, 0) is { } a && V(n, 1) is { } b && shape.Length <= 1)
            {
                int len = Math.Max(a.Length, b.Length);
                value = new long[len];
                for (int i = 0; i < len; i++)
                {
                    long p = a[a.Length == 1 ? 0 : i], q = b[b.Length == 1 ? 0 : i];
                    value[i] = n.OpType switch { "Add" => p + q, "Sub" => p - q, "Mul" => p * q, _ => q == 0 ? 0 : p / q };
                }
            }
            Set(n, shape, value);
        }

        private static long[] Broadcast(long[] a, long[] b)
        {
            int rank = Math.Max(a.Length, b.Length);
            var shape = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
                long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
                shape[i] = da == 1 ? db : da;
            }
            return shape;
        }

        private static long Norm(long axis, int rank, bool clamp)
        {
            long a = axis < 0 ? axis + rank : axis;
            return clamp ? Math.Clamp(a, 0, rank) : a;
        }

        private static long? Attr(NodeProto n, string name) =>
            n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : null;

        private static long[]? Ints(NodeProto n, string name) =>
            n.Attribute.FirstOrDefault(a => a.Name == name) is { } a && a.Ints.Count > 0 ? [.. a.Ints] : null;
    }
}

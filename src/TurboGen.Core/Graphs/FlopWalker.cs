using Onnx;

namespace TurboGen.Graphs;

/// <summary>
/// The walk behind <see cref="GraphFlops"/>: shapes (and small int64 values) of every value seen so far, and the FLOPs of the
/// counted operators (Conv, MatMul-like, Gemm, MultiHeadAttention) by operator type.
/// </summary>
internal sealed partial class FlopWalker
{
    public readonly Dictionary<string, long[]> Shapes = new(StringComparer.Ordinal);
    public readonly Dictionary<string, long[]> Values = new(StringComparer.Ordinal);
    public readonly Dictionary<string, long> ByOp = new(StringComparer.Ordinal);
    public readonly List<string> Uncounted = [];
    public int Counted;
    private readonly Dictionary<string, float[]> _floats = new(StringComparer.Ordinal);

    /// <summary>A small float initializer (Resize scales) by name.</summary>
    public void AddFloatConstant(string name, float[] values) => _floats[name] = values;
    private float[]? FloatValues(string name) => _floats.GetValueOrDefault(name);

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
}

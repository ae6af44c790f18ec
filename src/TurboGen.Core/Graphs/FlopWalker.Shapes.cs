using Onnx;

namespace TurboGen.Graphs;

/// <summary>Shape propagation of the operators that only move or reshape data (and the shape arithmetic that feeds Reshape/Expand/Resize).</summary>
internal sealed partial class FlopWalker
{
    private void Constant(NodeProto n)
    {
        var t = n.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
        if (t is not null)
        {
            long[] dims = [.. t.Dims];
            Set(n, dims, t.DataType == (int)ElementType.Int64 && dims.Aggregate(1L, (a, b) => a * b) <= 64 ? GraphFlops.Int64Values(t) : null);
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

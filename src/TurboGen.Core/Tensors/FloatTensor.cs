namespace TurboGen.Tensors;

/// <summary>A float32 tensor in host memory (row-major): the currency between pipeline stages.</summary>
public sealed record FloatTensor(float[] Data, long[] Shape)
{
    /// <summary>A tensor of the given shape filled with zeros; the element count must fit in an int.</summary>
    public static FloatTensor Zeros(params long[] shape) => new(new float[checked((int)shape.Aggregate(1L, (a, b) => a * b))], shape);

    /// <summary>The number of elements (the product of <see cref="Shape"/>).</summary>
    public int Length => Data.Length;

    /// <summary>The shape only, e.g. "[1,4,64,64]" (the data is not printed).</summary>
    public override string ToString() => $"[{string.Join(",", Shape)}]";

    /// <summary>Zeros of this tensor's shape.</summary>
    public FloatTensor ZerosLike() => new(new float[Data.Length], (long[])Shape.Clone());

    /// <summary>A batch-1 tensor [1, ...] repeated to [<paramref name="n"/>, ...].</summary>
    public FloatTensor RepeatBatch(int n)
    {
        var data = new float[Data.Length * n];
        for (int i = 0; i < n; i++) Data.CopyTo(data, i * Data.Length);
        var shape = (long[])Shape.Clone();
        shape[0] = n;
        return new FloatTensor(data, shape);
    }

    /// <summary>Concatenation along axis 0: [A, ...] ‖ [B, ...] → [A+B, ...].</summary>
    public static FloatTensor ConcatBatch(FloatTensor a, FloatTensor b)
    {
        var shape = (long[])a.Shape.Clone();
        shape[0] += b.Shape[0];
        return new FloatTensor([.. a.Data, .. b.Data], shape);
    }

    /// <summary>Concatenation along the last axis of two rank-3 tensors: [B,T,D1] ‖ [B,T,D2] → [B,T,D1+D2].</summary>
    public static FloatTensor ConcatLastAxis(FloatTensor a, FloatTensor b)
    {
        long rows = a.Shape[0] * a.Shape[1];
        int da = (int)a.Shape[2], db = (int)b.Shape[2];
        var data = new float[rows * (da + db)];
        for (long r = 0; r < rows; r++)
        {
            Array.Copy(a.Data, r * da, data, r * (da + db), da);
            Array.Copy(b.Data, r * db, data, r * (da + db) + da, db);
        }
        return new FloatTensor(data, [a.Shape[0], a.Shape[1], da + db]);
    }
}

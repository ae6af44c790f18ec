namespace TurboGen.Tensors;

/// <summary>Arithmetic on tensor shapes (dimension lists, row-major).</summary>
public static class TensorShape
{
    /// <summary>The number of elements of a tensor of <paramref name="shape"/> (1 for a scalar, shape []).</summary>
    public static long ElementCount(long[] shape)
    {
        long n = 1;
        foreach (long d in shape) n *= d;
        return n;
    }
}

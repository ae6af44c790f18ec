using System.Runtime.InteropServices;

namespace TurboGen.Weights;

/// <summary>
/// The bytes of one initializer, produced only when a model is written: from a managed array, or from a
/// memory-mapped checkpoint slice (with dtype conversion) so that building a large model does not hold a second copy.
/// </summary>
public abstract class WeightData
{
    /// <summary>The number of bytes <see cref="WriteTo"/> writes.</summary>
    public abstract long ByteLength { get; }

    /// <summary>Writes the little-endian bytes of the tensor.</summary>
    public abstract void WriteTo(Stream destination);

    /// <summary>The bytes in a new array (for small tensors and tests; a large checkpoint slice would be copied whole).</summary>
    public virtual byte[] ToArray()
    {
        using var ms = new MemoryStream(checked((int)ByteLength));
        WriteTo(ms);
        return ms.ToArray();
    }

    /// <summary>The elements of <paramref name="values"/> as little-endian bytes (the array is not copied, so it must not change afterwards).</summary>
    public static WeightData FromArray<T>(T[] values) where T : unmanaged => new ArrayWeight<T>(values);

    /// <summary>Exactly <paramref name="bytes"/> (not copied).</summary>
    public static WeightData FromBytes(byte[] bytes) => new ArrayWeight<byte>(bytes);

    /// <summary>Bytes produced on demand by <paramref name="write"/> (e.g. a converted checkpoint slice).</summary>
    public static WeightData FromWriter(long byteLength, Action<Stream> write) => new DelegateWeight(byteLength, write);

    private sealed class ArrayWeight<T>(T[] values) : WeightData where T : unmanaged
    {
        public override long ByteLength => (long)values.Length * Marshal.SizeOf<T>();
        public override void WriteTo(Stream destination) => destination.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        public override byte[] ToArray() => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    private sealed class DelegateWeight(long byteLength, Action<Stream> write) : WeightData
    {
        public override long ByteLength => byteLength;
        public override void WriteTo(Stream destination)
        {
            long start = destination.CanSeek ? destination.Position : -1;
            write(destination);
            if (start >= 0 && destination.Position - start != byteLength)
            {
                throw new InvalidDataException($"Weight writer produced {destination.Position - start} bytes, expected {byteLength}.");
            }
        }
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TurboGen.Imaging;
using TurboGen.Tensors;

namespace TurboGen.Server.Scaling;

/// <summary>
/// The bytes of an image or tensor as a job carries them by reference (a blob key with a TTL) or a reply carries them:
/// an image is width, height (int32, little-endian) then the RGB pixels; a tensor is its rank, its dimensions (int64) then
/// the float32 data, all little-endian.
/// </summary>
public static class BlobCodec
{
    public static byte[] Image(RgbImage image)
    {
        var bytes = new byte[8 + image.Pixels.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, image.Width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), image.Height);
        image.Pixels.CopyTo(bytes, 8);
        return bytes;
    }

    /// <summary>Reads an image blob; <paramref name="what"/> names it in the error when the bytes are not one.</summary>
    public static RgbImage Image(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < 8) throw new TurboGenException($"The queued {what} is truncated ({bytes.Length} bytes).");
        int width = BinaryPrimitives.ReadInt32LittleEndian(bytes), height = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (width <= 0 || height <= 0 || (long)width * height * 3 != bytes.Length - 8)
            throw new TurboGenException($"The queued {what} is not a {width}x{height} RGB image ({bytes.Length} bytes).");
        return new RgbImage(width, height, bytes[8..].ToArray());
    }

    public static byte[] Tensor(FloatTensor tensor)
    {
        var floats = MemoryMarshal.AsBytes(tensor.Data.AsSpan());
        var bytes = new byte[4 + 8 * tensor.Shape.Length + floats.Length];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, tensor.Shape.Length);
        for (int i = 0; i < tensor.Shape.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(4 + 8 * i), tensor.Shape[i]);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The queue's tensor blobs are little-endian.");
        floats.CopyTo(bytes.AsSpan(4 + 8 * tensor.Shape.Length));
        return bytes;
    }

    public static FloatTensor Tensor(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length < 4) throw new TurboGenException($"The queued {what} is truncated ({bytes.Length} bytes).");
        int rank = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (rank is < 0 or > 8 || bytes.Length < 4 + 8 * rank) throw new TurboGenException($"The queued {what} has a bad header (rank {rank}).");
        var shape = new long[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes[(4 + 8 * i)..]);
            count *= shape[i];
        }
        var data = bytes[(4 + 8 * rank)..];
        if (count < 0 || data.Length != count * sizeof(float))
            throw new TurboGenException($"The queued {what} holds {data.Length} bytes, not the {count} floats of [{string.Join(",", shape)}].");
        return new FloatTensor(MemoryMarshal.Cast<byte, float>(data).ToArray(), shape);
    }
}

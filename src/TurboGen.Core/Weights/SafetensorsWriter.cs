using System.Runtime.InteropServices;
using System.Text.Json;

namespace TurboGen.Weights;

/// <summary>
/// Writes safetensors files (u64 little-endian header length, JSON header with dtype/shape/data_offsets per tensor,
/// then the tensors' bytes back to back). The header is padded with spaces so the data section starts on an 8-byte
/// boundary. Tensor bytes are streamed from a callback per tensor, so multi-GB files never need to be held in memory;
/// the file is written under a temporary name and renamed when complete.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>One tensor to write: <paramref name="WriteData"/> must write exactly shape × dtype-size little-endian bytes.</summary>
    public sealed record Tensor(string Name, SafetensorsDType DType, long[] Shape, Action<Stream> WriteData)
    {
        /// <summary>The bytes <see cref="WriteData"/> must write: element count × dtype size.</summary>
        public long ByteLength => checked(Shape.Aggregate(1L, (a, b) => checked(a * b)) * SafetensorsFile.DTypeSize(DType));

        /// <summary>A tensor whose bytes are the elements of <paramref name="values"/> (e.g. float[] for F32, Half[] for F16, long[] for I64).</summary>
        public static Tensor FromArray<T>(string name, SafetensorsDType dtype, long[] shape, T[] values) where T : unmanaged =>
            new(name, dtype, shape, s => s.Write(MemoryMarshal.AsBytes(values.AsSpan())));
    }

    /// <summary>Writes <paramref name="tensors"/> (in the given order) and optional string metadata to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        byte[] header = BuildHeader(list, metadata);
        string tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var t in list)
                {
                    long start = fs.Position;
                    t.WriteData(fs);
                    long written = fs.Position - start;
                    if (written != t.ByteLength)
                    {
                        throw new InvalidOperationException($"Safetensors tensor '{t.Name}': the data callback wrote {written} bytes, expected {t.ByteLength} for shape [{string.Join(",", t.Shape)}] {t.DType}.");
                    }
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                {
                    json.WriteString(k, v);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                if (string.IsNullOrEmpty(t.Name) || t.Name == "__metadata__" || !names.Add(t.Name))
                {
                    throw new ArgumentException($"Safetensors tensor name '{t.Name}' is empty, reserved or duplicated.");
                }
                if (t.Shape.Any(d => d < 0))
                {
                    throw new ArgumentException($"Safetensors tensor '{t.Name}' has a negative dimension in [{string.Join(",", t.Shape)}].");
                }
                long end = offset + t.ByteLength;
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType.ToString());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        // Pad with spaces (allowed by the format) so that 8 + header length is a multiple of 8.
        int padding = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < padding; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}

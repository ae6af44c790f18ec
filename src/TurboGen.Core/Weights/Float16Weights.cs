using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace TurboGen.Weights;

/// <summary>
/// Float32 → float16 conversion of initializer data for float16 builds: streamed in chunks (a large tensor is never held
/// twice), rounding to nearest even like PyTorch's <c>.half()</c>. A finite value beyond the float16 range (±65504) would
/// become infinite and poison the model, so it fails the write with a <see cref="ModelLoadException"/> naming the tensor.
/// </summary>
public static class Float16Weights
{
    /// <summary>The float16 version of the float32 bytes of <paramref name="float32"/> (produced when written).</summary>
    public static WeightData FromFloat32(WeightData float32, string tensorName, string source)
    {
        ArgumentNullException.ThrowIfNull(float32);
        if (float32.ByteLength % 4 != 0)
        {
            throw new ArgumentException($"Tensor '{tensorName}': {float32.ByteLength} bytes is not a whole number of float32 values.", nameof(float32));
        }
        return WeightData.FromWriter(float32.ByteLength / 2, destination =>
        {
            using var converter = new ConvertingStream(destination, tensorName, source);
            float32.WriteTo(converter);
            converter.Finish();
        });
    }

    /// <summary>The values as float16 (for small constants); same overflow rule.</summary>
    public static Half[] FromFloat32(ReadOnlySpan<float> values, string tensorName, string source)
    {
        var halves = new Half[values.Length];
        Convert(values, halves, tensorName, source);
        return halves;
    }

    private static void Convert(ReadOnlySpan<float> src, Span<Half> dst, string tensorName, string source)
    {
        TensorPrimitives.ConvertToHalf(src, dst);
        for (int i = 0; i < dst.Length; i++)
        {
            if (Half.IsInfinity(dst[i]) && float.IsFinite(src[i]))
            {
                throw new ModelLoadException(source,
                    $"Tensor '{tensorName}' of {source} holds {src[i]}, beyond the float16 range (±65504); build this model in float32.");
            }
        }
    }

    /// <summary>A write-only stream that takes float32 bytes and writes them as float16 to <c>destination</c>.</summary>
    private sealed class ConvertingStream(Stream destination, string tensorName, string source) : Stream
    {
        private const int Chunk = 1 << 16;
        private readonly float[] _floats = new float[Chunk];
        private readonly Half[] _halves = new Half[Chunk];
        private int _bytes;   // bytes of _floats filled

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            var floatBytes = MemoryMarshal.AsBytes(_floats.AsSpan());
            while (buffer.Length > 0)
            {
                int n = Math.Min(buffer.Length, floatBytes.Length - _bytes);
                buffer[..n].CopyTo(floatBytes[_bytes..]);
                _bytes += n;
                buffer = buffer[n..];
                if (_bytes == floatBytes.Length) Flush();
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        /// <summary>Converts and writes the whole float32 values received so far.</summary>
        public override void Flush()
        {
            int count = _bytes / 4;
            if (count == 0) return;
            Convert(_floats.AsSpan(0, count), _halves.AsSpan(0, count), tensorName, source);
            destination.Write(MemoryMarshal.AsBytes(_halves.AsSpan(0, count)));
            int rest = _bytes - count * 4;
            var floatBytes = MemoryMarshal.AsBytes(_floats.AsSpan());
            floatBytes.Slice(count * 4, rest).CopyTo(floatBytes);
            _bytes = rest;
        }

        /// <summary>Writes what is left; the float32 data must have ended on a value boundary.</summary>
        public void Finish()
        {
            Flush();
            if (_bytes != 0)
            {
                throw new InvalidDataException($"Tensor '{tensorName}': float32 data ended inside a value.");
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

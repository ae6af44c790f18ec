using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TurboGen.Weights;

namespace TurboGen.Merging;

/// <summary>float32 values → the little-endian bytes of a safetensors floating-point dtype (round to nearest even).</summary>
internal static class FloatEncoding
{
    /// <summary>Encodes <paramref name="values"/> as <paramref name="dtype"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="ModelLoadException">A finite value beyond the float16 range (it would become infinite), naming the tensor.</exception>
    public static int Encode(ReadOnlySpan<float> values, SafetensorsDType dtype, Span<byte> destination, string tensorName, string source)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.AsBytes(values).CopyTo(destination);
                return values.Length * 4;
            case SafetensorsDType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(destination)[..values.Length];
                TensorPrimitives.ConvertToHalf(values, halves);
                for (int i = 0; i < halves.Length; i++)
                {
                    if (Half.IsInfinity(halves[i]) && float.IsFinite(values[i]))
                    {
                        throw new ModelLoadException(source,
                            $"Merged tensor '{tensorName}' holds {values[i]}, beyond the float16 range (±65504) of A's dtype; merge float32 checkpoints or use a smaller weight.");
                    }
                }
                return values.Length * 2;
            case SafetensorsDType.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(destination)[..values.Length];
                for (int i = 0; i < values.Length; i++)
                {
                    uint bits = BitConverter.SingleToUInt32Bits(values[i]);
                    bf[i] = float.IsNaN(values[i])
                        ? (ushort)((bits >> 16) | 0x40)                                  // stays a (quiet) NaN
                        : (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);       // round to nearest even
                }
                return values.Length * 2;
            case SafetensorsDType.F64:
                var d = MemoryMarshal.Cast<byte, double>(destination)[..values.Length];
                for (int i = 0; i < values.Length; i++) d[i] = values[i];
                return values.Length * 8;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a floating-point dtype");
        }
    }
}

using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TurboGen.Models;

namespace TurboGen.Testing;

/// <summary>
/// Writes seeded random-weight safetensors checkpoints with given key names and shapes, so that full-size
/// architectures (CLIP-L, bigG, UNets) can be built and loaded without downloading the real weights.
/// Values are N(0, std²) (Box–Muller over a SplitMix64 stream seeded with <c>seed</c>, drawn in key order), stored as F16 or F32;
/// the data is streamed in chunks, so multi-GB files need no matching amount of memory.
/// </summary>
public static class RandomCheckpoint
{
    private const int Chunk = 1 << 16;

    public static void Write(string path, IEnumerable<(string Name, long[] Shape)> tensors, int seed, float std,
        SafetensorsDType dtype = SafetensorsDType.F16)
    {
        if (dtype is not (SafetensorsDType.F16 or SafetensorsDType.F32))
        {
            throw new ArgumentException($"RandomCheckpoint writes F16 or F32, not {dtype}.", nameof(dtype));
        }
        var random = new SplitMix64((ulong)seed);
        var entries = tensors.Select(t => new SafetensorsWriter.Tensor(t.Name, dtype, t.Shape,
            s => WriteNormal(s, random, t.Shape.Aggregate(1L, (a, b) => a * b), std, dtype)));
        SafetensorsWriter.Write(path, entries);
    }

    private static void WriteNormal(Stream s, SplitMix64 random, long count, float std, SafetensorsDType dtype)
    {
        var values = new float[Chunk];
        var halves = new Half[Chunk];
        var scratch = new float[4][];
        for (int i = 0; i < scratch.Length; i++) scratch[i] = new float[Chunk / 2];
        for (long start = 0; start < count; start += Chunk)
        {
            int n = (int)Math.Min(Chunk, count - start);
            FillNormal(random, values.AsSpan(0, n), std, scratch);
            if (dtype == SafetensorsDType.F16)
            {
                TensorPrimitives.ConvertToHalf(values.AsSpan(0, n), halves.AsSpan(0, n));
                s.Write(MemoryMarshal.AsBytes(halves.AsSpan(0, n)));
            }
            else
            {
                s.Write(MemoryMarshal.AsBytes(values.AsSpan(0, n)));
            }
        }
    }

    /// <summary>
    /// Box–Muller on whole spans (vectorised): r = std·sqrt(−2 ln u1), θ = 2π·u2; r·cos θ fills the first half of
    /// <paramref name="dst"/> and r·sin θ the second. <paramref name="scratch"/> holds four buffers of at least half its length.
    /// </summary>
    private static void FillNormal(SplitMix64 random, Span<float> dst, float std, float[][] scratch)
    {
        int half = (dst.Length + 1) / 2;
        var u1 = scratch[0].AsSpan(0, half);
        var theta = scratch[1].AsSpan(0, half);
        var r = scratch[2].AsSpan(0, half);
        var trig = scratch[3].AsSpan(0, half);
        for (int i = 0; i < half; i++)
        {
            // Two 24-bit uniforms from one 64-bit draw: u1 in (0, 1], θ in [0, 2π).
            ulong bits = random.Next();
            u1[i] = ((bits >> 40) + 1) * (1f / (1 << 24));
            theta[i] = ((bits >> 8) & 0xFFFFFF) * (2f * MathF.PI / (1 << 24));
        }
        TensorPrimitives.Log(u1, r);
        TensorPrimitives.Multiply(r, -2f, r);
        TensorPrimitives.Sqrt(r, r);
        TensorPrimitives.Multiply(r, std, r);
        TensorPrimitives.Cos(theta, trig);
        TensorPrimitives.Multiply(r, trig, dst[..half]);
        TensorPrimitives.Sin(theta, trig);
        int rest = dst.Length - half;
        TensorPrimitives.Multiply(r[..rest], trig[..rest], dst[half..]);
    }

    /// <summary>SplitMix64 (Steele, Lea &amp; Flood 2014): a tiny, fast, seedable generator — <see cref="Random"/> with a seed is too slow for GBs.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}

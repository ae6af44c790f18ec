using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Test checkpoints with real key names and shapes, streamed through <see cref="SafetensorsWriter"/>: seeded random
/// weights for a full-size config, or a renamed copy of a golden checkpoint.
/// </summary>
public static class TestCheckpoints
{
    /// <summary>
    /// Writes seeded random weights for <paramref name="shapes"/> (name → shape), sorted by name: tensors of rank ≥ 2 uniform with
    /// variance 1/fan_in, 1-D "*.bias" uniform ±0.02, other 1-D (norm scales) 1 ± 0.05. Each tensor's values depend only on
    /// <paramref name="seed"/> and its name. <paramref name="dtype"/>: F32 or F16.
    /// </summary>
    public static void WriteSeededRandom(string path, IReadOnlyDictionary<string, long[]> shapes, int seed, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.F16))
        {
            throw new ArgumentException("Only F32 and F16 are supported.", nameof(dtype));
        }
        var entries = shapes.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new SafetensorsWriter.Tensor(kv.Key, dtype, kv.Value, s => WriteRandom(s, kv.Key, kv.Value, seed, dtype)))
            .ToList();
        SafetensorsWriter.Write(path, entries);
    }

    /// <summary>Copies every tensor of <paramref name="source"/> (raw bytes, same dtype) under the name <paramref name="rename"/> gives; null drops it.</summary>
    public static void CopyRenamed(string source, string destination, Func<string, string?> rename)
    {
        using var file = SafetensorsFile.Open(source);
        var entries = new List<SafetensorsWriter.Tensor>();
        foreach (var info in file.Tensors.Values.OrderBy(i => i.Begin))
        {
            string? name = rename(info.Name);
            if (name is null) continue;
            string original = info.Name;
            entries.Add(new SafetensorsWriter.Tensor(name, info.DType, info.Shape, s => s.Write(file.RawBytes(original))));
        }
        SafetensorsWriter.Write(destination, entries);
    }

    private static void WriteRandom(Stream s, string name, long[] shape, int seed, SafetensorsDType dtype)
    {
        var rng = new Random(seed ^ StableHash(name));
        long count = 1;
        foreach (long d in shape) count *= d;
        long fanIn = 1;
        for (int i = 1; i < shape.Length; i++) fanIn *= shape[i];
        (float center, float halfWidth) = shape.Length >= 2
            ? (0f, MathF.Sqrt(3f / fanIn))
            : name.EndsWith(".bias", StringComparison.Ordinal) ? (0f, 0.02f) : (1f, 0.05f);

        const int chunk = 1 << 16;
        var values = new float[chunk];
        var halves = new Half[chunk];
        for (long start = 0; start < count; start += chunk)
        {
            int n = (int)Math.Min(chunk, count - start);
            for (int i = 0; i < n; i++)
            {
                values[i] = center + halfWidth * (2f * rng.NextSingle() - 1f);
            }
            if (dtype == SafetensorsDType.F32)
            {
                s.Write(MemoryMarshal.AsBytes(values.AsSpan(0, n)));
            }
            else
            {
                for (int i = 0; i < n; i++) halves[i] = (Half)values[i];
                s.Write(MemoryMarshal.AsBytes(halves.AsSpan(0, n)));
            }
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units (string.GetHashCode is randomised per process).</summary>
    private static int StableHash(string s)
    {
        uint h = 2166136261;
        foreach (char c in s)
        {
            h = (h ^ c) * 16777619;
        }
        return (int)h;
    }
}

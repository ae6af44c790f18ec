using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Scheduling;
using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// A seeded random checkpoint with given (name, shape) tensors — by default the diffusers UNet layout of a config
/// (<see cref="UnetCheckpointLayout"/>), so full-size SDXL/SD-Turbo graphs can be built without the real weights.
/// Values are produced on demand (nothing is held in memory) and are the same on every read: per tensor a SplitMix64
/// stream seeded by (seed, name). Weights of rank ≥ 2 are uniform with std 1/√fan_in, biases have std 0.02, 1-D
/// norm weights are 1 ± 0.05 (like the golden references' init). <see cref="WriteSafetensors"/> streams it to a
/// .safetensors file (F32 or F16) with a minimal writer.
/// </summary>
public sealed class RandomUnetCheckpoint : ICheckpointTensors
{
    private const int Chunk = 1 << 16;
    private readonly List<(string Name, long[] Shape)> _tensors;
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly ulong _seed;

    public RandomUnetCheckpoint(IEnumerable<(string Name, long[] Shape)> tensors, ulong seed, string source = "random-checkpoint")
    {
        _tensors = tensors.ToList();
        foreach (var (name, shape) in _tensors)
        {
            _shapes.Add(name, shape);
        }
        _seed = seed;
        Source = source;
    }

    /// <summary>The full diffusers checkpoint layout of <paramref name="config"/>.</summary>
    public static RandomUnetCheckpoint ForConfig(UnetConfig config, ulong seed) =>
        new(UnetCheckpointLayout.Tensors(config), seed, $"random UNet checkpoint (seed {seed})");

    public string Source { get; }
    public IEnumerable<string> Names => _tensors.Select(t => t.Name);
    public IReadOnlyCollection<string> Used => _used;
    public IReadOnlyList<(string Name, long[] Shape)> Tensors => _tensors;
    public long ParameterCount => _tensors.Sum(t => TensorShape.ElementCount(t.Shape));

    public bool Contains(string name) => _shapes.ContainsKey(name);

    public long[] Shape(string name)
    {
        if (!_shapes.TryGetValue(name, out var shape))
        {
            throw new ModelLoadException(Source, $"Checkpoint {Source} has no tensor '{name}'.");
        }
        _used.Add(name);
        return shape;
    }

    public WeightData Float32(string name)
    {
        long[] shape = Shape(name);
        return WeightData.FromWriter(TensorShape.ElementCount(shape) * 4,
            s => Generate(name, shape, chunk => s.Write(MemoryMarshal.AsBytes(chunk))));
    }

    public WeightData Float32Transposed(string name)
    {
        long[] shape = Shape(name);
        if (shape.Length != 2) throw new ModelLoadException(Source, $"Tensor '{name}' is not 2-D.");
        return WeightData.FromWriter(shape[0] * shape[1] * 4, s =>
        {
            float[] src = ReadFloat32(name);
            long rows = shape[0], cols = shape[1];
            var column = new float[rows];
            for (long c = 0; c < cols; c++)
            {
                for (long r = 0; r < rows; r++) column[r] = src[r * cols + c];
                s.Write(MemoryMarshal.AsBytes(column.AsSpan()));
            }
        });
    }

    public float[] ReadFloat32(string name)
    {
        long[] shape = Shape(name);
        var values = new float[TensorShape.ElementCount(shape)];
        int offset = 0;
        Generate(name, shape, chunk =>
        {
            chunk.CopyTo(values.AsSpan(offset));
            offset += chunk.Length;
        });
        return values;
    }

    /// <summary>Streams every tensor into a safetensors file (header first, then the data in layout order).</summary>
    public void WriteSafetensors(string path, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.F16))
        {
            throw new ArgumentException("Only F32 and F16 are written.", nameof(dtype));
        }
        int elementSize = dtype == SafetensorsDType.F32 ? 4 : 2;
        byte[] header = Header(dtype, elementSize);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        fs.Write(length);
        fs.Write(header);
        var halves = new Half[Chunk];
        foreach (var (name, shape) in _tensors)
        {
            Generate(name, shape, chunk =>
            {
                if (dtype == SafetensorsDType.F32)
                {
                    fs.Write(MemoryMarshal.AsBytes(chunk));
                    return;
                }
                for (int i = 0; i < chunk.Length; i++) halves[i] = (Half)chunk[i];
                fs.Write(MemoryMarshal.AsBytes(halves.AsSpan(0, chunk.Length)));
            });
        }
    }

    private byte[] Header(SafetensorsDType dtype, int elementSize)
    {
        using var ms = new MemoryStream();
        using (var json = new Utf8JsonWriter(ms))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, shape) in _tensors)
            {
                long bytes = TensorShape.ElementCount(shape) * elementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.ToString());
                json.WriteStartArray("shape");
                foreach (long d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        // The data section starts 8-byte aligned: pad the header with spaces.
        int padded = (int)((ms.Length + 7) / 8 * 8);
        var header = new byte[padded];
        ms.ToArray().CopyTo(header, 0);
        header.AsSpan((int)ms.Length).Fill((byte)' ');
        return header;
    }

    /// <summary>Produces the tensor's values in chunks of at most <see cref="Chunk"/> (the span is reused between calls).</summary>
    private void Generate(string name, long[] shape, Action<ReadOnlySpan<float>> sink)
    {
        long count = TensorShape.ElementCount(shape);
        bool isBias = name.EndsWith(".bias", StringComparison.Ordinal);
        bool isNormWeight = shape.Length == 1 && !isBias;
        long fanIn = shape.Length >= 2 ? count / shape[0] : 1;
        // Uniform(−a, a) has std a/√3.
        float scale = isBias ? 0.02f * MathF.Sqrt(3f) : isNormWeight ? 0.05f * MathF.Sqrt(3f) : MathF.Sqrt(3f / fanIn);
        float offset = isNormWeight ? 1f : 0f;

        var random = new SplitMix64(_seed ^ SplitMix64.HashName(name));
        var buffer = new float[(int)Math.Min(Chunk, Math.Max(count, 1))];
        for (long start = 0; start < count; start += Chunk)
        {
            int n = (int)Math.Min(Chunk, count - start);
            for (int i = 0; i < n; i++)
            {
                float uniform = (random.Next() >> 40) * (1f / (1 << 24)) * 2f - 1f;   // [−1, 1)
                buffer[i] = offset + scale * uniform;
            }
            sink(buffer.AsSpan(0, n));
        }
    }
}

namespace TurboGen.Weights;

/// <summary>Checkpoint tensors backed by memory-mapped safetensors files (several files act as one key space).</summary>
public sealed class SafetensorsCheckpoint : ICheckpointTensors, IDisposable
{
    private readonly List<SafetensorsFile> _files = [];
    private readonly Dictionary<string, SafetensorsFile> _owner = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Memory-maps every file (headers are validated now; tensor bytes are read only when used).</summary>
    /// <param name="paths">The .safetensors files; a name in more than one file resolves to the last one. A missing or corrupt file throws
    /// <see cref="ModelLoadException"/> naming it.</param>
    public SafetensorsCheckpoint(params string[] paths)
    {
        try
        {
            foreach (string p in paths)
            {
                var f = SafetensorsFile.Open(p);
                _files.Add(f);
                foreach (string name in f.Tensors.Keys)
                {
                    _owner[name] = f;
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Source = string.Join(", ", paths);
    }

    /// <inheritdoc/>
    public string Source { get; }

    /// <inheritdoc/>
    public IEnumerable<string> Names => _owner.Keys;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Used => _used;

    /// <inheritdoc/>
    public bool Contains(string name) => _owner.ContainsKey(name);

    private SafetensorsFile File(string name)
    {
        if (!_owner.TryGetValue(name, out var f))
        {
            throw new ModelLoadException(Source, $"Checkpoint {Source} has no tensor '{name}'.");
        }
        _used.Add(name);
        return f;
    }

    /// <inheritdoc/>
    public long[] Shape(string name) => File(name).Info(name).Shape;

    /// <inheritdoc/>
    public WeightData Float32(string name)
    {
        var f = File(name);
        var info = f.Info(name);
        return WeightData.FromWriter(info.ElementCount * 4, s =>
        {
            if (info.DType == SafetensorsDType.F32)
            {
                s.Write(f.RawBytes(name));
                return;
            }
            WriteConverted(f, info, s);
        });
    }

    private static void WriteConverted(SafetensorsFile f, SafetensorsTensorInfo info, Stream s)
    {
        // Convert in chunks so a large F16 tensor never needs a full float32 copy in memory.
        const int chunk = 1 << 16;
        var raw = f.RawBytes(info.Name);
        int elemSize = SafetensorsFile.DTypeSize(info.DType);
        var buffer = new float[chunk];
        long count = info.ElementCount;
        for (long start = 0; start < count; start += chunk)
        {
            int n = (int)Math.Min(chunk, count - start);
            SafetensorsFile.ConvertToFloat32(info.DType, raw.Slice((int)(start * elemSize), n * elemSize), buffer.AsSpan(0, n));
            s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
        }
    }

    /// <inheritdoc/>
    public WeightData Float32Transposed(string name)
    {
        var f = File(name);
        var info = f.Info(name);
        if (info.Shape.Length != 2)
        {
            throw new ModelLoadException(Source, $"Tensor '{name}' in {Source} has shape [{string.Join(",", info.Shape)}], expected 2-D for a linear layer.");
        }
        long rows = info.Shape[0], cols = info.Shape[1];
        return WeightData.FromWriter(rows * cols * 4, s =>
        {
            var src = f.ReadFloat32(name);
            var row = new float[rows];
            for (long c = 0; c < cols; c++)
            {
                for (long r = 0; r < rows; r++)
                {
                    row[r] = src[r * cols + c];
                }
                s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
            }
        });
    }

    /// <inheritdoc/>
    public float[] ReadFloat32(string name) => File(name).ReadFloat32(name);

    /// <summary>F16 tensors are copied as they are (no conversion); F32/BF16 are converted.</summary>
    public WeightData Float16(string name)
    {
        var f = File(name);
        var info = f.Info(name);
        return info.DType == SafetensorsDType.F16
            ? WeightData.FromWriter(info.ElementCount * 2, s => s.Write(f.RawBytes(name)))
            : Float16Weights.FromFloat32(Float32(name), name, Source);
    }

    /// <summary>F16 tensors are transposed as they are (no conversion); F32/BF16 are converted.</summary>
    public WeightData Float16Transposed(string name)
    {
        var f = File(name);
        var info = f.Info(name);
        if (info.DType != SafetensorsDType.F16 || info.Shape.Length != 2)
        {
            return Float16Weights.FromFloat32(Float32Transposed(name), name, Source);
        }
        long rows = info.Shape[0], cols = info.Shape[1];
        return WeightData.FromWriter(rows * cols * 2, s =>
        {
            var src = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(f.RawBytes(name));
            var row = new ushort[rows];
            for (long c = 0; c < cols; c++)
            {
                for (long r = 0; r < rows; r++)
                {
                    row[r] = src[(int)(r * cols + c)];
                }
                s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
            }
        });
    }

    /// <summary>Unmaps every file; the <see cref="WeightData"/> returned earlier must not be written after this.</summary>
    public void Dispose()
    {
        foreach (var f in _files)
        {
            f.Dispose();
        }
        _files.Clear();
    }
}

using System.Runtime.InteropServices;
using TurboGen.Tensors;

namespace TurboGen.Weights;

/// <summary>How a tensor of a <see cref="RenamedCheckpoint"/> is derived from its source tensor.</summary>
public enum TensorTransform
{
    /// <summary>The source tensor as it is.</summary>
    None,

    /// <summary>
    /// Part <see cref="TensorMapping.ChunkIndex"/> of <see cref="TensorMapping.ChunkCount"/> equal row blocks along dimension 0
    /// (a fused OpenCLIP <c>in_proj_weight</c> [3C, C] / <c>in_proj_bias</c> [3C] → q, k or v).
    /// </summary>
    Chunk,

    /// <summary>
    /// A 1×1 convolution weight [out, in, 1, 1] read as a linear weight [out, in] (same bytes; [out, in] and any other trailing
    /// dimensions of size 1, e.g. [out, in, 1], are accepted too).
    /// </summary>
    ConvToLinear,

    /// <summary>
    /// A vector with trailing dimensions of size 1 read as the vector (same bytes): the bias of a layer whose weight is read with
    /// <see cref="ConvToLinear"/>, stored [out, 1, 1] by some converters (diffusers' convert_diffusers_to_original_stable_diffusion
    /// writes the VAE attention biases so); [out] is accepted too.
    /// </summary>
    DropTrailingOnes,

    /// <summary>A 2-D tensor [a, b] read transposed as [b, a] (OpenCLIP's <c>text_projection</c>, applied as x·P, vs a Linear weight).</summary>
    Transpose,
}

/// <summary>One tensor of a <see cref="RenamedCheckpoint"/>: its <paramref name="Name"/>, the source tensor and the transform.</summary>
public sealed record TensorMapping(string Name, string SourceName, TensorTransform Transform = TensorTransform.None, int ChunkIndex = 0, int ChunkCount = 1)
{
    /// <summary>q/k/v part <paramref name="index"/> of 3 of a fused projection.</summary>
    public static TensorMapping ChunkOf(string name, string sourceName, int index, int count) =>
        new(name, sourceName, TensorTransform.Chunk, index, count);
}

/// <summary>
/// A renaming view over another <see cref="ICheckpointTensors"/>: it offers exactly the names of its mappings, each read
/// from a source tensor through a <see cref="TensorTransform"/> (rename, row chunk of a fused projection, 1×1 conv → linear,
/// transpose). Nothing is copied when the view is made: shapes are derived from the source's, and data is converted only when
/// the model writer asks for it — a chunk by streaming the source tensor through a byte window, a transpose or a
/// chunk-then-transpose by reading that one tensor. Keys read are recorded in <see cref="Used"/> under the view's names.
/// </summary>
public sealed class RenamedCheckpoint : ICheckpointTensors
{
    private readonly ICheckpointTensors _source;
    private readonly Dictionary<string, TensorMapping> _mappings = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <param name="source">The tensors under their original names.</param>
    /// <param name="mappings">One entry per offered name (names must be unique).</param>
    /// <param name="description">For messages, e.g. "UNet of sd_turbo.safetensors"; default: the source's description.</param>
    public RenamedCheckpoint(ICheckpointTensors source, IEnumerable<TensorMapping> mappings, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(mappings);
        _source = source;
        foreach (var m in mappings)
        {
            if (m.Transform == TensorTransform.Chunk && (m.ChunkCount < 1 || m.ChunkIndex < 0 || m.ChunkIndex >= m.ChunkCount))
            {
                throw new ArgumentException($"Mapping '{m.Name}': chunk {m.ChunkIndex} of {m.ChunkCount} is not a valid part.", nameof(mappings));
            }
            if (!_mappings.TryAdd(m.Name, m))
            {
                throw new ArgumentException($"Mapping name '{m.Name}' appears twice.", nameof(mappings));
            }
            _names.Add(m.Name);
        }
        Source = description ?? source.Source;
    }

    /// <inheritdoc/>
    public string Source { get; }

    /// <inheritdoc/>
    public IEnumerable<string> Names => _names;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Used => _used;

    /// <inheritdoc/>
    public bool Contains(string name) => _mappings.ContainsKey(name);

    /// <summary>The mapping behind <paramref name="name"/> (for messages and tests).</summary>
    public TensorMapping MappingOf(string name) => Mapping(name, markUsed: false);

    /// <inheritdoc/>
    public long[] Shape(string name)
    {
        var m = Mapping(name, markUsed: true);
        long[] source = _source.Shape(m.SourceName);
        switch (m.Transform)
        {
            case TensorTransform.None:
                return source;
            case TensorTransform.Chunk:
                if (source.Length == 0 || source[0] % m.ChunkCount != 0)
                {
                    throw Bad(m, source, $"dimension 0 cannot be split into {m.ChunkCount} equal parts");
                }
                return [source[0] / m.ChunkCount, .. source[1..]];
            case TensorTransform.ConvToLinear:
                if (source.Length >= 2 && TrailingOnes(source, 2))
                {
                    return [source[0], source[1]];
                }
                throw Bad(m, source, "expected a 1×1 convolution weight [out,in,1,1] or a linear weight [out,in]");
            case TensorTransform.DropTrailingOnes:
                if (source.Length >= 1 && TrailingOnes(source, 1))
                {
                    return [source[0]];
                }
                throw Bad(m, source, "expected a bias [out] (or [out,1,1] as a 1×1 convolution's)");
            case TensorTransform.Transpose:
                if (source.Length != 2)
                {
                    throw Bad(m, source, "expected a 2-D tensor to transpose");
                }
                return [source[1], source[0]];
            default:
                throw new InvalidOperationException($"Unknown transform {m.Transform}.");
        }
    }

    /// <inheritdoc/>
    public WeightData Float32(string name)
    {
        long[] shape = Shape(name);
        var m = _mappings[name];
        long bytes = TensorShape.ElementCount(shape) * 4;
        switch (m.Transform)
        {
            case TensorTransform.None:
            case TensorTransform.ConvToLinear:   // same elements in the same order
            case TensorTransform.DropTrailingOnes:
                return _source.Float32(m.SourceName);
            case TensorTransform.Chunk:
                var whole = _source.Float32(m.SourceName);
                return WeightData.FromWriter(bytes, s => whole.WriteTo(new WindowStream(s, m.ChunkIndex * bytes, bytes)));
            case TensorTransform.Transpose:
                // The transpose of the transposed view is the source itself.
                return _source.Float32Transposed(m.SourceName);
            default:
                throw new InvalidOperationException($"Unknown transform {m.Transform}.");
        }
    }

    /// <inheritdoc/>
    public WeightData Float32Transposed(string name)
    {
        long[] shape = Shape(name);
        var m = _mappings[name];
        if (shape.Length != 2)
        {
            throw new ModelLoadException(Source, $"Tensor '{name}' in {Source} has shape [{string.Join(",", shape)}], expected 2-D for a linear layer.");
        }
        switch (m.Transform)
        {
            case TensorTransform.None:
                return _source.Float32Transposed(m.SourceName);
            case TensorTransform.Transpose:
                return _source.Float32(m.SourceName);
            default:
                return WeightData.FromWriter(shape[0] * shape[1] * 4, s => WriteTransposed(s, ReadFloat32(name), shape[0], shape[1]));
        }
    }

    /// <inheritdoc/>
    public float[] ReadFloat32(string name)
    {
        long[] shape = Shape(name);
        var m = _mappings[name];
        float[] source = _source.ReadFloat32(m.SourceName);
        switch (m.Transform)
        {
            case TensorTransform.None:
            case TensorTransform.ConvToLinear:
            case TensorTransform.DropTrailingOnes:
                return source;
            case TensorTransform.Chunk:
                int length = source.Length / m.ChunkCount;
                return source.AsSpan(m.ChunkIndex * length, length).ToArray();
            case TensorTransform.Transpose:
                var result = new float[source.Length];
                long rows = shape[1], cols = shape[0];   // the source is [rows, cols]
                for (long r = 0; r < rows; r++)
                {
                    for (long c = 0; c < cols; c++)
                    {
                        result[c * rows + r] = source[r * cols + c];
                    }
                }
                return result;
            default:
                throw new InvalidOperationException($"Unknown transform {m.Transform}.");
        }
    }

    private TensorMapping Mapping(string name, bool markUsed)
    {
        if (!_mappings.TryGetValue(name, out var m))
        {
            throw new ModelLoadException(Source, $"Checkpoint {Source} has no tensor '{name}'.");
        }
        if (markUsed)
        {
            _used.Add(name);
        }
        return m;
    }

    /// <summary>True when every dimension of <paramref name="shape"/> from index <paramref name="from"/> on is 1.</summary>
    private static bool TrailingOnes(long[] shape, int from)
    {
        for (int i = from; i < shape.Length; i++)
        {
            if (shape[i] != 1) return false;
        }
        return true;
    }

    private ModelLoadException Bad(TensorMapping m, long[] shape, string what) =>
        new(Source, $"Tensor '{m.SourceName}' in {Source} (read as '{m.Name}') has shape [{string.Join(",", shape)}]: {what}.");

    /// <summary>Writes the [rows, cols] matrix <paramref name="values"/> as [cols, rows].</summary>
    private static void WriteTransposed(Stream s, float[] values, long rows, long cols)
    {
        var column = new float[rows];
        for (long c = 0; c < cols; c++)
        {
            for (long r = 0; r < rows; r++)
            {
                column[r] = values[r * cols + c];
            }
            s.Write(MemoryMarshal.AsBytes(column.AsSpan()));
        }
    }

    /// <summary>A write-only stream that passes on bytes [start, start+length) of what is written to it and drops the rest.</summary>
    private sealed class WindowStream(Stream destination, long start, long length) : Stream
    {
        private long _position;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long from = Math.Max(start, _position), to = Math.Min(start + length, _position + buffer.Length);
            if (to > from)
            {
                destination.Write(buffer.Slice((int)(from - _position), (int)(to - from)));
            }
            _position += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

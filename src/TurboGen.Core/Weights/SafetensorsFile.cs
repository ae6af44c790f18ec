using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;
using TurboGen.Tensors;

namespace TurboGen.Weights;

/// <summary>Element types a safetensors file can declare (the subset TurboGen reads).</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE float32 (4 bytes).</summary>
    F32,

    /// <summary>IEEE float16 (2 bytes).</summary>
    F16,

    /// <summary>bfloat16 (2 bytes: the upper half of a float32).</summary>
    BF16,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Boolean, one byte per element.</summary>
    BOOL,

    /// <summary>IEEE float64 (8 bytes).</summary>
    F64,
}

/// <summary>One tensor's header entry: dtype, shape and byte range relative to the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>The number of elements (the product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount => TensorShape.ElementCount(Shape);

    /// <summary>The tensor's size in bytes (<see cref="End"/> − <see cref="Begin"/>).</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors format: u64 little-endian header
/// length, JSON header, data). The header is validated before any tensor is touched: length within the file and
/// below <see cref="MaxHeaderBytes"/>, well-formed JSON, known dtypes, offsets in bounds, non-overlapping and
/// exactly shape × dtype size. Errors name the file and the bad tensor.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest JSON header accepted: 100 MiB (a larger declared length is reported as a corrupt file).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly long _dataStart;
    private readonly long _fileLength;
    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private bool _acquired;

    /// <summary>The file as opened (a symlink, e.g. a Hub cache snapshot entry, is reported under this name).</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> entries (non-string values as their raw JSON); empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every tensor's header entry by name (the <c>__metadata__</c> entry is not a tensor).</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => _tensors;

    private SafetensorsFile(string path)
    {
        Path = path;
        var fi = new FileInfo(path);
        if (fi.LinkTarget is not null && fi.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            fi = target; // a Hugging Face cache snapshot entry is a symlink to blobs/: the length is the blob's, not the link's
        }
        if (!fi.Exists)
        {
            throw new ModelLoadException(path, $"Safetensors file not found: {path}");
        }
        _fileLength = fi.Length;
        if (_fileLength < 8)
        {
            throw Corrupt(path, $"file is {_fileLength} bytes, shorter than the 8-byte header length");
        }
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* ptr = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
        _acquired = true;
        _base = ptr + _view.PointerOffset;
        try
        {
            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_base, 8));
            if (headerLen > (ulong)MaxHeaderBytes || (long)headerLen > _fileLength - 8)
            {
                throw Corrupt(path, $"declared header length {headerLen} exceeds the file ({_fileLength} bytes) or the {MaxHeaderBytes}-byte cap");
            }
            _dataStart = 8 + (long)headerLen;
            var header = new ReadOnlySpan<byte>(_base + 8, (int)headerLen);
            (_tensors, Metadata) = ParseHeader(path, header, _fileLength - _dataStart);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Maps the file and validates its header; a missing, truncated or corrupt file throws <see cref="ModelLoadException"/> naming it (and the bad tensor).</summary>
    public static SafetensorsFile Open(string path) => new(path);

    private static ModelLoadException Corrupt(string path, string what) =>
        new(path, $"Corrupt safetensors file {path}: {what}.");

    private static (Dictionary<string, SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        try
        {
            return ParseHeaderJson(path, header, dataLength);
        }
        catch (InvalidOperationException e)
        {
            // JsonDocument checks the structure when parsing but decodes names and strings only when read: invalid UTF-8 in a
            // name (a flipped bit in the header) surfaces here.
            throw new ModelLoadException(path, $"Corrupt safetensors file {path}: header is not valid UTF-8 JSON ({e.Message}).", e);
        }
    }

    private static (Dictionary<string, SafetensorsTensorInfo>, Dictionary<string, string>) ParseHeaderJson(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray());
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(path, $"Corrupt safetensors file {path}: header is not valid JSON ({e.Message}).", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Corrupt(path, "header is not a JSON object");
            }
            var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var m in prop.Value.EnumerateObject())
                        {
                            meta[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        }
                    }
                    continue;
                }
                tensors[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
            // Non-overlap: sort by begin and check each range ends before the next starts.
            var ordered = tensors.Values.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin).ToList();
            for (int i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].Begin < ordered[i - 1].End)
                {
                    throw Corrupt(path, $"tensor '{ordered[i].Name}' overlaps tensor '{ordered[i - 1].Name}'");
                }
            }
            return (tensors, meta);
        }
    }

    private static SafetensorsTensorInfo ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        try
        {
            string dtypeText = e.GetProperty("dtype").GetString() ?? "";
            if (!Enum.TryParse<SafetensorsDType>(dtypeText, ignoreCase: false, out var dtype))
            {
                throw Corrupt(path, $"tensor '{name}' has unsupported dtype '{dtypeText}'");
            }
            var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (shape.Any(d => d < 0))
            {
                throw Corrupt(path, $"tensor '{name}' has a negative dimension");
            }
            var offs = e.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLength)
            {
                throw Corrupt(path, $"tensor '{name}' has data_offsets [{string.Join(",", offs)}] outside the data section ({dataLength} bytes)");
            }
            long expected;
            try
            {
                expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * DTypeSize(dtype));
            }
            catch (OverflowException)
            {
                throw Corrupt(path, $"tensor '{name}' shape overflows");
            }
            if (offs[1] - offs[0] != expected)
            {
                throw Corrupt(path, $"tensor '{name}' spans {offs[1] - offs[0]} bytes but shape [{string.Join(",", shape)}] {dtype} needs {expected}");
            }
            return new SafetensorsTensorInfo(name, dtype, shape, offs[0], offs[1]);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelLoadException(path, $"Corrupt safetensors file {path}: tensor '{name}' header entry is malformed ({ex.Message}).", ex);
        }
    }

    /// <summary>Bytes per element of a dtype: 8 for F64/I64, 4 for F32/I32, 2 for F16/BF16, 1 for I8/U8/BOOL.</summary>
    public static int DTypeSize(SafetensorsDType t) => t switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        _ => 1,
    };

    /// <summary>Whether the file holds a tensor of that name.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>A tensor's header entry; a missing name throws <see cref="ModelLoadException"/> naming the file and the tensor.</summary>
    public SafetensorsTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info)
            ? info
            : throw new ModelLoadException(Path, $"Tensor '{name}' not found in {Path}.");

    /// <summary>
    /// Where a tensor's bytes start in the file (header included), for readers that stream a tensor in chunks with ordinary
    /// reads instead of touching the mapping (the pages of a multi-GB file then stay in the page cache, not in the working set).
    /// </summary>
    public long FileOffset(string name) => _dataStart + Info(name).Begin;

    /// <summary>The raw little-endian bytes of a tensor, straight from the mapping (valid while this object lives).</summary>
    public ReadOnlySpan<byte> RawBytes(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(!_acquired, this);
        return new ReadOnlySpan<byte>(_base + _dataStart + info.Begin, checked((int)info.ByteLength));
    }

    /// <summary>Pointer to a tensor's bytes in the mapping, for zero-copy use (valid while this object lives).</summary>
    public IntPtr Pointer(string name)
    {
        var info = Info(name);
        ObjectDisposedException.ThrowIf(!_acquired, this);
        return (IntPtr)(_base + _dataStart + info.Begin);
    }

    /// <summary>The tensor converted to float32 (F32 copied, F16/BF16/F64/integers converted).</summary>
    public float[] ReadFloat32(string name)
    {
        var info = Info(name);
        var dst = new float[info.ElementCount];
        ConvertToFloat32(info.DType, RawBytes(name), dst);
        return dst;
    }

    /// <summary>An I64 or I32 tensor as longs; another dtype throws <see cref="ModelLoadException"/>.</summary>
    public long[] ReadInt64(string name)
    {
        var info = Info(name);
        var raw = RawBytes(name);
        return info.DType switch
        {
            SafetensorsDType.I64 => MemoryMarshal.Cast<byte, long>(raw).ToArray(),
            SafetensorsDType.I32 => MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(x => (long)x).ToArray(),
            _ => throw new ModelLoadException(Path, $"Tensor '{name}' in {Path} is {info.DType}, not an integer tensor."),
        };
    }

    /// <summary>Converts little-endian elements of <paramref name="dtype"/> to float32: F32 copied, F16/BF16/F64/I64/I32 converted,
    /// I8 as its signed value (−128..127), U8 and BOOL as the unsigned byte value.</summary>
    /// <param name="dtype">The element type of <paramref name="src"/>.</param>
    /// <param name="src">The raw bytes; their length must be <paramref name="dst"/>.Length × <see cref="DTypeSize"/>.</param>
    /// <param name="dst">Receives one float per element.</param>
    public static void ConvertToFloat32(SafetensorsDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case SafetensorsDType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case SafetensorsDType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                break;
            case SafetensorsDType.BF16:
                var bf = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < bf.Length; i++)
                {
                    dst[i] = BitConverter.Int32BitsToSingle(bf[i] << 16);
                }
                break;
            case SafetensorsDType.F64:
                var d = MemoryMarshal.Cast<byte, double>(src);
                for (int i = 0; i < d.Length; i++) dst[i] = (float)d[i];
                break;
            case SafetensorsDType.I64:
                var l = MemoryMarshal.Cast<byte, long>(src);
                for (int i = 0; i < l.Length; i++) dst[i] = l[i];
                break;
            case SafetensorsDType.I32:
                var n = MemoryMarshal.Cast<byte, int>(src);
                for (int i = 0; i < n.Length; i++) dst[i] = n[i];
                break;
            case SafetensorsDType.I8:
                var signed = MemoryMarshal.Cast<byte, sbyte>(src);
                for (int i = 0; i < signed.Length; i++) dst[i] = signed[i];
                break;
            default:
                for (int i = 0; i < src.Length; i++) dst[i] = src[i];
                break;
        }
    }

    /// <summary>Releases the mapping; spans and pointers handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_acquired)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _acquired = false;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}

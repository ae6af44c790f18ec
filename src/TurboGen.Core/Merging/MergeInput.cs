using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using TurboGen.Weights;

namespace TurboGen.Merging;

/// <summary>
/// One checkpoint of a merge: its safetensors header (validated by <see cref="SafetensorsFile"/>) and a plain file handle that
/// tensor bytes are read through in chunks. Reading with ordinary reads rather than through the memory mapping keeps the
/// pages of a multi-GB file in the page cache instead of the process's working set, so the merge's memory stays bounded.
/// </summary>
internal sealed class MergeInput : IDisposable
{
    private readonly SafetensorsFile _header;
    private readonly SafeFileHandle _handle;

    private MergeInput(string role, SafetensorsFile header, SafeFileHandle handle)
    {
        Role = role;
        _header = header;
        _handle = handle;
    }

    /// <summary>"A", "B" or "C" (as the formulas name the inputs).</summary>
    public string Role { get; }

    public string Path => _header.Path;

    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors => _header.Tensors;

    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    public static MergeInput Open(string role, string path)
    {
        var header = SafetensorsFile.Open(path);
        try
        {
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            return new MergeInput(role, header, handle);
        }
        catch
        {
            header.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _header.Contains(name);

    public SafetensorsTensorInfo Info(string name) => _header.Info(name);

    /// <summary>Reads the raw bytes of elements [<paramref name="first"/>, first + count) of a tensor into <paramref name="destination"/> (count × element size bytes).</summary>
    public void ReadRaw(SafetensorsTensorInfo tensor, long first, Span<byte> destination)
    {
        int size = SafetensorsFile.DTypeSize(tensor.DType);
        long offset = _header.FileOffset(tensor.Name) + first * size;
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(_handle, destination, offset);
            if (n <= 0)
            {
                throw new ModelLoadException(Path, $"Safetensors file {Path} ended inside tensor '{tensor.Name}' (was it truncated while merging?).");
            }
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>Reads elements [<paramref name="first"/>, first + destination.Length) of a floating-point tensor as float32.</summary>
    public void ReadFloat32(SafetensorsTensorInfo tensor, long first, Span<float> destination, byte[] scratch)
    {
        int size = SafetensorsFile.DTypeSize(tensor.DType);
        if (tensor.DType == SafetensorsDType.F32)
        {
            ReadRaw(tensor, first, MemoryMarshal.AsBytes(destination));
            return;
        }
        var raw = scratch.AsSpan(0, destination.Length * size);
        ReadRaw(tensor, first, raw);
        SafetensorsFile.ConvertToFloat32(tensor.DType, raw, destination);
    }

    public void Dispose()
    {
        _handle.Dispose();
        _header.Dispose();
    }
}

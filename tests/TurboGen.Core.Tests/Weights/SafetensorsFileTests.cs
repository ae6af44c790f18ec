using System.Buffers.Binary;
using System.Text;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Weights;

/// <summary>The safetensors reader validates the header before touching any tensor: a corrupt file names the file and the bad tensor.</summary>
public sealed class SafetensorsFileTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-st");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes 8-byte length + header JSON + <paramref name="dataBytes"/> zero bytes.</summary>
    private string Raw(string header, int dataBytes, ulong? declaredLength = null)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static ModelLoadException Corrupt(string path) => Assert.ThrowsAny<ModelLoadException>(() => SafetensorsFile.Open(path).Dispose());

    [Fact]
    public void OneByteTypes_I8IsSigned_U8AndBoolUnsigned()
    {
        byte[] raw = [0x00, 0x7F, 0x80, 0xFF];
        var dst = new float[4];
        SafetensorsFile.ConvertToFloat32(SafetensorsDType.I8, raw, dst);
        Assert.Equal([0f, 127f, -128f, -1f], dst);
        SafetensorsFile.ConvertToFloat32(SafetensorsDType.U8, raw, dst);
        Assert.Equal([0f, 127f, 128f, 255f], dst);
    }

    [Fact]
    public void ReadsF32_F16_BF16_AndIntegers()
    {
        string path = Path.Combine(_dir, "ok.safetensors");
        SafetensorsWriter.Write(path,
        [
            SafetensorsWriter.Tensor.FromArray("f32", SafetensorsDType.F32, [2], new[] { 1.5f, -2f }),
            SafetensorsWriter.Tensor.FromArray("f16", SafetensorsDType.F16, [2], new[] { (Half)0.25f, (Half)(-3f) }),
            SafetensorsWriter.Tensor.FromArray("bf16", SafetensorsDType.BF16, [2], new ushort[] { 0x3FC0, 0xC040 }), // 1.5, -3
            SafetensorsWriter.Tensor.FromArray("i64", SafetensorsDType.I64, [3], new long[] { 1, 2, 49407 }),
        ]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([1.5f, -2f], file.ReadFloat32("f32"));
        Assert.Equal([0.25f, -3f], file.ReadFloat32("f16"));
        Assert.Equal([1.5f, -3f], file.ReadFloat32("bf16"));
        Assert.Equal([1L, 2, 49407], file.ReadInt64("i64"));
        Assert.Equal([2L], file.Info("f32").Shape);
        var missing = Assert.Throws<ModelLoadException>(() => file.Info("nope"));
        Assert.Contains("nope", missing.Message);
    }

    [Fact]
    public void MissingFile_NamesIt()
    {
        var e = Corrupt(Path.Combine(_dir, "absent.safetensors"));
        Assert.Contains("absent.safetensors", e.Message);
    }

    [Fact]
    public void TooShortFile_IsCorrupt()
    {
        string path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("shorter than", Corrupt(path).Message);
    }

    [Fact]
    public void HeaderLengthBeyondTheFile_IsCorrupt_WithoutReadingIt()
    {
        var e = Corrupt(Raw("{}", 0, declaredLength: 1UL << 40));
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void HeaderThatIsNotJson_IsCorrupt() =>
        Assert.Contains("not valid JSON", Corrupt(Raw("{\"a\": [1, 2", 0)).Message);

    [Fact]
    public void OffsetsOutsideTheData_NameTheTensor()
    {
        var e = Corrupt(Raw("""{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", dataBytes: 8));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("outside the data section", e.Message);
    }

    [Fact]
    public void SizeNotMatchingShape_NamesTheTensor()
    {
        var e = Corrupt(Raw("""{"w": {"dtype": "F16", "shape": [4], "data_offsets": [0, 16]}}""", dataBytes: 16));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("needs 8", e.Message);
    }

    [Fact]
    public void OverlappingTensors_AreCorrupt()
    {
        var e = Corrupt(Raw("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", dataBytes: 12));
        Assert.Contains("overlaps", e.Message);
    }

    [Fact]
    public void UnknownDtype_AndMalformedEntry_NameTheTensor()
    {
        Assert.Contains("unsupported dtype 'F8'", Corrupt(Raw("""{"w": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}""", 1)).Message);
        Assert.Contains("'w'", Corrupt(Raw("""{"w": {"dtype": "F32", "shape": [1]}}""", 4)).Message);
        Assert.Contains("negative", Corrupt(Raw("""{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", 4)).Message);
    }

    [Fact]
    public void Metadata_IsExposed()
    {
        string path = Raw("""{"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 4);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal([0f], file.ReadFloat32("w"));
    }
}

using TurboGen.Benchmarking;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Weights;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-st");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WrittenFile_ReadsBackWithSameValuesShapesAndMetadata()
    {
        string dir = _dir;
        string path = Path.Combine(dir, "a.safetensors");
        float[] a = [1.5f, -2f, 3.25f, 0f, 7f, -0.125f];
        Half[] b = [(Half)0.5f, (Half)(-1f), (Half)2f];
        long[] c = [49406, 320, 49407];
        SafetensorsWriter.Write(path,
        [
            SafetensorsWriter.Tensor.FromArray("w.a", SafetensorsDType.F32, [2, 3], a),
            SafetensorsWriter.Tensor.FromArray("w.b", SafetensorsDType.F16, [3], b),
            SafetensorsWriter.Tensor.FromArray("ids", SafetensorsDType.I64, [1, 3], c),
        ], new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(a, file.ReadFloat32("w.a"));
        Assert.Equal([2L, 3L], file.Info("w.a").Shape);
        Assert.Equal([0.5f, -1f, 2f], file.ReadFloat32("w.b"));
        Assert.Equal(SafetensorsDType.F16, file.Info("w.b").DType);
        Assert.Equal(c, file.ReadInt64("ids"));
        Assert.Equal("pt", file.Metadata["format"]);

        // The data section starts on an 8-byte boundary.
        using var fs = File.OpenRead(path);
        var len = new byte[8];
        fs.ReadExactly(len);
        Assert.Equal(0UL, (8 + BitConverter.ToUInt64(len)) % 8);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void CallbackWritingTheWrongByteCount_FailsAndLeavesNoFile()
    {
        string dir = _dir;
        string path = Path.Combine(dir, "bad.safetensors");
        var ex = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path,
            [new SafetensorsWriter.Tensor("short", SafetensorsDType.F32, [4], s => s.Write(new byte[12]))]));
        Assert.Contains("short", ex.Message);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void DuplicateNames_AreRejected()
    {
        string path = Path.Combine(_dir, "dup.safetensors");
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path,
        [
            SafetensorsWriter.Tensor.FromArray("x", SafetensorsDType.F32, [1], new[] { 1f }),
            SafetensorsWriter.Tensor.FromArray("x", SafetensorsDType.F32, [1], new[] { 2f }),
        ]));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void RandomCheckpoint_IsSeededWithRequestedShapesAndSpread()
    {
        string dir = _dir;
        (string, long[])[] keys = [("a.weight", [64, 32]), ("a.bias", [64])];
        RandomCheckpoint.Write(Path.Combine(dir, "1.safetensors"), keys, seed: 7, std: 0.5f);
        RandomCheckpoint.Write(Path.Combine(dir, "2.safetensors"), keys, seed: 7, std: 0.5f);
        RandomCheckpoint.Write(Path.Combine(dir, "3.safetensors"), keys, seed: 8, std: 0.5f, SafetensorsDType.F32);
        using var f1 = SafetensorsFile.Open(Path.Combine(dir, "1.safetensors"));
        using var f2 = SafetensorsFile.Open(Path.Combine(dir, "2.safetensors"));
        using var f3 = SafetensorsFile.Open(Path.Combine(dir, "3.safetensors"));
        Assert.Equal([64L, 32L], f1.Info("a.weight").Shape);
        Assert.Equal(SafetensorsDType.F16, f1.Info("a.weight").DType);
        Assert.Equal(SafetensorsDType.F32, f3.Info("a.weight").DType);
        var w = f1.ReadFloat32("a.weight");
        Assert.Equal(w, f2.ReadFloat32("a.weight"));
        Assert.NotEqual(w, f3.ReadFloat32("a.weight"));
        double mean = w.Average(), std = Math.Sqrt(w.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(std, 0.45, 0.55);
    }
}

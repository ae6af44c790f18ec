using TurboGen.Merging;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Merging;

/// <summary>
/// <see cref="CheckpointMerge"/> at the edges the CLI tests do not reach: chunk boundaries inside tensors, BF16 and F64 outputs,
/// float16 overflow, cancellation. Expected values are computed here in double from the values written.
/// </summary>
public sealed class CheckpointMergeTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-merge-core");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1 << 20)]
    public void ChunkSize_DoesNotChangeTheResult(int chunk)
    {
        float[] a = Values(1001, 1), b = Values(1001, 2), c = Values(1001, 3);
        SafetensorsWriter.Write(P("a.safetensors"), [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [7, 11, 13], a)]);
        SafetensorsWriter.Write(P("b.safetensors"), [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [7, 11, 13], b)]);
        SafetensorsWriter.Write(P("c.safetensors"), [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [7, 11, 13], c)]);
        var report = CheckpointMerge.Run(P("a.safetensors"), P("b.safetensors"), P("c.safetensors"), P("m.safetensors"),
            new CheckpointMergeOptions { Method = MergeMethod.AddDifference, Weight = 0.6f, ChunkElements = chunk });
        Assert.Equal(1, report.Merged);
        using var m = SafetensorsFile.Open(P("m.safetensors"));
        float[] got = m.ReadFloat32("w");
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i] + ((double)b[i] - c[i]) * 0.6, got[i], 1e-5);
        }
    }

    [Fact]
    public void Bf16AndF64Outputs_RoundTheFloat32Result()
    {
        float[] a = Values(300, 4), b = Values(300, 5);
        ushort[] bf = a.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();   // truncated: exact BF16 values
        SafetensorsWriter.Write(P("a.safetensors"), [
            SafetensorsWriter.Tensor.FromArray("bf", SafetensorsDType.BF16, [300], bf),
            SafetensorsWriter.Tensor.FromArray("d", SafetensorsDType.F64, [300], a.Select(v => (double)v).ToArray()),
        ]);
        SafetensorsWriter.Write(P("b.safetensors"), [
            SafetensorsWriter.Tensor.FromArray("bf", SafetensorsDType.F32, [300], b),
            SafetensorsWriter.Tensor.FromArray("d", SafetensorsDType.F32, [300], b),
        ]);
        CheckpointMerge.Run(P("a.safetensors"), P("b.safetensors"), null, P("m.safetensors"), new CheckpointMergeOptions { Weight = 0.3f });
        using var m = SafetensorsFile.Open(P("m.safetensors"));
        Assert.Equal(SafetensorsDType.BF16, m.Info("bf").DType);
        Assert.Equal(SafetensorsDType.F64, m.Info("d").DType);
        float[] gotBf = m.ReadFloat32("bf"), gotD = m.ReadFloat32("d");
        for (int i = 0; i < a.Length; i++)
        {
            double aBf = BitConverter.UInt32BitsToSingle((uint)bf[i] << 16);
            double expectedBf = 0.7 * aBf + 0.3 * b[i];
            Assert.True(Math.Abs(expectedBf - gotBf[i]) <= Math.Abs(expectedBf) / 256 + 1e-6, $"bf[{i}]: {gotBf[i]} vs {expectedBf}");   // BF16: 8-bit mantissa
            Assert.Equal(0.7 * a[i] + 0.3 * b[i], gotD[i], 1e-5);
        }
    }

    [Fact]
    public void Float16Overflow_FailsNamingTheTensor_AndLeavesNoFile()
    {
        SafetensorsWriter.Write(P("a.safetensors"), [SafetensorsWriter.Tensor.FromArray("big", SafetensorsDType.F16, [2], new[] { (Half)60000, (Half)1 })]);
        SafetensorsWriter.Write(P("c.safetensors"), [SafetensorsWriter.Tensor.FromArray("big", SafetensorsDType.F16, [2], new[] { (Half)(-60000), (Half)1 })]);
        // 60000 + (60000 − (−60000)) · 1 = 180000: beyond float16.
        var error = Assert.Throws<ModelLoadException>(() => CheckpointMerge.Run(P("a.safetensors"), P("a.safetensors"), P("c.safetensors"), P("m.safetensors"),
            new CheckpointMergeOptions { Method = MergeMethod.AddDifference, Weight = 1f }));
        Assert.Contains("'big'", error.Message);
        Assert.False(File.Exists(P("m.safetensors")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Cancellation_StopsTheMerge_AndLeavesNoFile()
    {
        SafetensorsWriter.Write(P("a.safetensors"), [SafetensorsWriter.Tensor.FromArray("w", SafetensorsDType.F32, [64], Values(64, 1))]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => CheckpointMerge.Run(P("a.safetensors"), P("a.safetensors"), null, P("m.safetensors"),
            new CheckpointMergeOptions(), cancelled.Token));
        Assert.False(File.Exists(P("m.safetensors")));
    }
}

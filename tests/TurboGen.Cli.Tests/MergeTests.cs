using System.Globalization;
using TurboGen.Merging;
using TurboGen.Weights;

namespace TurboGen.Cli.Tests;

/// <summary>
/// <c>turbogen merge</c> through the real process on small safetensors files. Expected values are computed here in double
/// from the values the test wrote (not by <see cref="CheckpointMerge"/>), then rounded to the output dtype.
/// </summary>
public sealed class MergeTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("turbogen-merge-").FullName;
    private static readonly Dictionary<string, string> NoEnvironment = [];

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private Task<CliResult> Merge(params string[] args) => CliProcess.RunAsync(NoEnvironment, _work, ["merge", .. args]);

    private string P(string name) => Path.Combine(_work, name);

    private static float[] Values(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    /// <summary>A checkpoint with a conv weight, a bias, an int64 position_ids and optionally an extra tensor, in the given float dtype.</summary>
    private static void WriteCheckpoint(string path, SafetensorsDType dtype, int seed, params (string Name, long[] Shape)[] extra)
    {
        var tensors = new List<SafetensorsWriter.Tensor>
        {
            FloatTensor("unet.conv.weight", dtype, [4, 3, 3, 3], Values(108, seed)),
            FloatTensor("unet.conv.bias", dtype, [4], Values(4, seed + 1)),
            SafetensorsWriter.Tensor.FromArray("te.position_ids", SafetensorsDType.I64, [1, 5], new long[] { 0, 1, 2, 3, 4 }),
        };
        foreach (var (name, shape) in extra)
        {
            tensors.Add(FloatTensor(name, dtype, shape, Values((int)shape.Aggregate(1L, (x, y) => x * y), seed + 2)));
        }
        SafetensorsWriter.Write(path, tensors);
    }

    private static SafetensorsWriter.Tensor FloatTensor(string name, SafetensorsDType dtype, long[] shape, float[] values) => dtype switch
    {
        SafetensorsDType.F32 => SafetensorsWriter.Tensor.FromArray(name, dtype, shape, values),
        SafetensorsDType.F16 => SafetensorsWriter.Tensor.FromArray(name, dtype, shape, values.Select(v => (Half)v).ToArray()),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static double[] Read(SafetensorsFile file, string name) => file.ReadFloat32(name).Select(v => (double)v).ToArray();

    [Fact]
    public async Task WeightedSum_IsOneMinusWTimesAPlusWTimesB_InAsDtype_InAsOrder()
    {
        WriteCheckpoint(P("a.safetensors"), SafetensorsDType.F32, 1);
        WriteCheckpoint(P("b.safetensors"), SafetensorsDType.F16, 2);   // precisions may differ: computed in float32
        var run = await Merge("a.safetensors", "b.safetensors", "-o", "m.safetensors", "--weight", "0.25");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("2 tensor(s) merged, 1 copied from A", run.Stdout);

        using var a = SafetensorsFile.Open(P("a.safetensors"));
        using var b = SafetensorsFile.Open(P("b.safetensors"));
        using var m = SafetensorsFile.Open(P("m.safetensors"));
        Assert.Equal(["unet.conv.weight", "unet.conv.bias", "te.position_ids"], m.Tensors.Values.OrderBy(t => t.Begin).Select(t => t.Name));
        foreach (string name in new[] { "unet.conv.weight", "unet.conv.bias" })
        {
            Assert.Equal(SafetensorsDType.F32, m.Info(name).DType);
            Assert.Equal(a.Info(name).Shape, m.Info(name).Shape);
            double[] x = Read(a, name), y = Read(b, name), got = Read(m, name);
            for (int i = 0; i < x.Length; i++)
            {
                Assert.Equal(0.75 * x[i] + 0.25 * y[i], got[i], 1e-6);
            }
        }
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, m.ReadInt64("te.position_ids"));
        Assert.Contains("(1 - 0.25) * A + 0.25 * B", m.Metadata[CheckpointMerge.MetadataKey]);
    }

    [Fact]
    public async Task AddDifference_IsAPlusBMinusCTimesW_AndTensorsOnlyInA_FollowTheOption()
    {
        WriteCheckpoint(P("a.safetensors"), SafetensorsDType.F16, 1, ("vae.decoder.weight", [3, 5]));
        WriteCheckpoint(P("b.safetensors"), SafetensorsDType.F32, 2);
        WriteCheckpoint(P("c.safetensors"), SafetensorsDType.F32, 3);
        var run = await Merge("a.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "m.safetensors", "-w", "0.8");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("2 tensor(s) merged, 2 copied from A, 0 dropped", run.Stdout);

        using (var a = SafetensorsFile.Open(P("a.safetensors")))
        using (var b = SafetensorsFile.Open(P("b.safetensors")))
        using (var c = SafetensorsFile.Open(P("c.safetensors")))
        using (var m = SafetensorsFile.Open(P("m.safetensors")))
        {
            foreach (string name in new[] { "unet.conv.weight", "unet.conv.bias" })
            {
                Assert.Equal(SafetensorsDType.F16, m.Info(name).DType);   // A's dtype
                double[] x = Read(a, name), y = Read(b, name), z = Read(c, name), got = Read(m, name);
                for (int i = 0; i < x.Length; i++)
                {
                    double expected = x[i] + (y[i] - z[i]) * 0.8;
                    // float32 arithmetic then one rounding to float16: within one float16 step of the exact value
                    double ulp = Math.Pow(2, Math.Floor(Math.Log2(Math.Max(Math.Abs(expected), 6.1e-5))) - 10);
                    Assert.True(Math.Abs(expected - got[i]) <= ulp, $"{name}[{i}]: {got[i]} vs {expected}");
                }
            }
            Assert.Equal(a.RawBytes("vae.decoder.weight").ToArray(), m.RawBytes("vae.decoder.weight").ToArray());   // kept: A's bytes
        }

        var drop = await Merge("a.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "d.safetensors", "--only-in-a", "drop");
        Assert.True(drop.ExitCode == 0, drop.ToString());
        using (var d = SafetensorsFile.Open(P("d.safetensors")))
        {
            Assert.False(d.Contains("vae.decoder.weight"));
            Assert.Equal(3, d.Tensors.Count);
        }

        var error = await Merge("a.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "e.safetensors", "--only-in-a", "error");
        Assert.Equal(3, error.ExitCode);
        Assert.Contains("'vae.decoder.weight'", error.Stderr);
        Assert.Contains("not in B (b.safetensors)", error.Stderr);
        Assert.False(File.Exists(P("e.safetensors")));
    }

    [Fact]
    public async Task IdenticalBAndC_LeaveABitForBit()
    {
        WriteCheckpoint(P("a.safetensors"), SafetensorsDType.F16, 1);
        WriteCheckpoint(P("b.safetensors"), SafetensorsDType.F16, 2);
        var run = await Merge("a.safetensors", "b.safetensors", "--base", "b.safetensors", "-o", "m.safetensors", "-w", "1.7");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var a = SafetensorsFile.Open(P("a.safetensors"));
        using var m = SafetensorsFile.Open(P("m.safetensors"));
        foreach (string name in a.Tensors.Keys)
        {
            Assert.Equal(a.RawBytes(name).ToArray(), m.RawBytes(name).ToArray());
        }
    }

    [Fact]
    public async Task Mismatches_FailBeforeWriting_NamingTheTensorAndFile()
    {
        WriteCheckpoint(P("a.safetensors"), SafetensorsDType.F32, 1);
        SafetensorsWriter.Write(P("shape.safetensors"), [
            SafetensorsWriter.Tensor.FromArray("unet.conv.weight", SafetensorsDType.F32, [4, 3, 1, 1], Values(12, 5)),
        ]);
        var shape = await Merge("a.safetensors", "shape.safetensors", "-o", "m.safetensors");
        Assert.Equal(3, shape.ExitCode);
        Assert.Contains("'unet.conv.weight' is [4,3,3,3] in A", shape.Stderr);
        Assert.Contains("[4,3,1,1] in B (shape.safetensors)", shape.Stderr);

        SafetensorsWriter.Write(P("dtype.safetensors"), [
            SafetensorsWriter.Tensor.FromArray("te.position_ids", SafetensorsDType.F32, [1, 5], new float[5]),
        ]);
        var dtype = await Merge("a.safetensors", "dtype.safetensors", "-o", "m.safetensors");
        Assert.Equal(3, dtype.ExitCode);
        Assert.Contains("'te.position_ids' is I64 in A", dtype.Stderr);
        Assert.Contains("F32 in B", dtype.Stderr);

        WriteCheckpoint(P("b.safetensors"), SafetensorsDType.F32, 2, ("unet.extra.weight", [2, 2]));
        WriteCheckpoint(P("c.safetensors"), SafetensorsDType.F32, 3);
        WriteCheckpoint(P("a2.safetensors"), SafetensorsDType.F32, 4, ("unet.extra.weight", [2, 2]));
        var missing = await Merge("a2.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "m.safetensors");
        Assert.Equal(3, missing.ExitCode);
        Assert.Contains("'unet.extra.weight' is in B (b.safetensors) but not in C (c.safetensors)", missing.Stderr);

        var noFile = await Merge("a.safetensors", "nothere.safetensors", "-o", "m.safetensors");
        Assert.Equal(3, noFile.ExitCode);
        Assert.Contains("nothere.safetensors", noFile.Stderr);
        Assert.False(File.Exists(P("m.safetensors")));
        Assert.Empty(Directory.GetFiles(_work, "*.tmp"));
    }

    [Fact]
    public async Task BadRequests_ExitTwo_NamingTheOption()
    {
        WriteCheckpoint(P("a.safetensors"), SafetensorsDType.F32, 1);
        WriteCheckpoint(P("b.safetensors"), SafetensorsDType.F32, 2);
        var noBase = await Merge("a.safetensors", "b.safetensors", "-o", "m.safetensors", "--method", "add-difference");
        Assert.Equal(2, noBase.ExitCode);
        Assert.Contains("--base", noBase.Stderr);

        var intoInput = await Merge("a.safetensors", "b.safetensors", "-o", "a.safetensors");
        Assert.Equal(2, intoInput.ExitCode);
        Assert.Contains("--output", intoInput.Stderr);

        var nan = await Merge("a.safetensors", "b.safetensors", "-o", "m.safetensors", "-w", "NaN");
        Assert.Equal(2, nan.ExitCode);
        Assert.Contains("--weight", nan.Stderr);

        File.WriteAllText(P("exists.safetensors"), "x");
        var exists = await Merge("a.safetensors", "b.safetensors", "-o", "exists.safetensors");
        Assert.Equal(2, exists.ExitCode);
        Assert.Contains("exists", exists.Stderr);
        var overwrite = await Merge("a.safetensors", "b.safetensors", "-o", "exists.safetensors", "--overwrite");
        Assert.True(overwrite.ExitCode == 0, overwrite.ToString());
    }

    /// <summary>
    /// Bounded memory: three ~250 MB inputs (one 96 Mi-element F16 tensor, larger than the whole memory budget) merge with a
    /// peak working set far below one input's size, as the command itself measures it.
    /// </summary>
    [Fact]
    public async Task LargeFiles_MergeInBoundedMemory()
    {
        foreach (var (name, seed) in new[] { ("a", 1), ("b", 2), ("c", 3) })
        {
            WriteLarge(P(name + ".safetensors"), seed);
        }
        long inputBytes = new FileInfo(P("a.safetensors")).Length;
        var run = await Merge("a.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "m.safetensors");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.InRange(new FileInfo(P("m.safetensors")).Length, inputBytes, inputBytes + 1024);   // same tensors; the header adds the merge record
        var line = run.Stdout.Split('\n').Single(l => l.StartsWith("Peak working set: ", StringComparison.Ordinal));
        long peakMiB = long.Parse(line["Peak working set: ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.True(peakMiB * 1024 * 1024 < inputBytes / 2, $"peak working set {peakMiB} MiB for inputs of {inputBytes / (1024 * 1024)} MiB each:\n{run}");

        // Spot-check values at the start, middle and end of the big tensor (F16 arithmetic as above).
        using var a = SafetensorsFile.Open(P("a.safetensors"));
        using var b = SafetensorsFile.Open(P("b.safetensors"));
        using var c = SafetensorsFile.Open(P("c.safetensors"));
        using var m = SafetensorsFile.Open(P("m.safetensors"));
        var big = m.Info("big.weight");
        foreach (long i in new[] { 0L, big.ElementCount / 2 + 3, big.ElementCount - 1 })
        {
            double expected = (double)H(a, i) + ((double)H(b, i) - (double)H(c, i));
            Assert.Equal((double)(Half)(float)expected, (double)H(m, i), 1e-2);
        }
    }

    private static Half H(SafetensorsFile f, long i) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(f.RawBytes("big.weight").Slice((int)(i * 2), 2))[0];

    private static void WriteLarge(string path, int seed)
    {
        const long big = 96L << 20, small = 8L << 20;
        SafetensorsWriter.Write(path, [
            Streamed("big.weight", big, seed),
            Streamed("small.0.weight", small, seed + 10),
            Streamed("small.1.weight", small, seed + 20),
        ]);
    }

    /// <summary>An F16 tensor of pseudo-random values in [−1, 1), generated in 1 Mi-element chunks (the test itself stays small).</summary>
    private static SafetensorsWriter.Tensor Streamed(string name, long count, int seed) => new(name, SafetensorsDType.F16, [count], stream =>
    {
        var random = new Random(seed);
        var chunk = new Half[1 << 20];
        for (long done = 0; done < count; done += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, count - done);
            for (int i = 0; i < n; i++) chunk[i] = (Half)(random.NextSingle() * 2 - 1);
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(chunk.AsSpan(0, n)));
        }
    });
}

using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>Reads tensors from a golden safetensors file as float32 / int64, and compares arrays with tolerances.</summary>
public sealed class GoldenTensors : IDisposable
{
    private readonly SafetensorsFile _file;

    public GoldenTensors(string path) => _file = SafetensorsFile.Open(path);

    public IEnumerable<string> Names => _file.Tensors.Keys;
    public bool Contains(string name) => _file.Contains(name);
    public long[] Shape(string name) => _file.Info(name).Shape;
    public float[] Float(string name) => _file.ReadFloat32(name);
    public long[] Int64(string name) => _file.ReadInt64(name);
    public byte[] Bytes(string name) => _file.RawBytes(name).ToArray();

    /// <summary>Item <paramref name="b"/> of a float tensor along its first (batch) axis.</summary>
    public float[] FloatItem(string name, int b)
    {
        var data = Float(name);
        int plane = data.Length / (int)Shape(name)[0];
        return data.AsSpan(b * plane, plane).ToArray();
    }

    /// <summary>Item <paramref name="b"/> of a float tensor as a batch of one.</summary>
    public TurboGen.Tensors.FloatTensor FloatItemTensor(string name, int b)
    {
        var shape = (long[])Shape(name).Clone();
        shape[0] = 1;
        return new TurboGen.Tensors.FloatTensor(FloatItem(name, b), shape);
    }
    public void Dispose() => _file.Dispose();

    /// <summary>max |a−b| / max |ref| (the "relative error" the golden cases state their tolerances in).</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length)
        {
            throw new ArgumentException($"length {actual.Length} != expected {expected.Length}");
        }
        double maxAbs = 0, maxRef = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            maxAbs = Math.Max(maxAbs, d);
            maxRef = Math.Max(maxRef, Math.Abs((double)expected[i]));
        }
        return maxRef == 0 ? maxAbs : maxAbs / maxRef;
    }

    public static double MaxAbsDiff(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        double maxAbs = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            maxAbs = Math.Max(maxAbs, d);
        }
        return maxAbs;
    }
}

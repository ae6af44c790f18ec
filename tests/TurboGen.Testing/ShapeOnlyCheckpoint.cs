using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Checkpoint tensors with names and shapes but no data, for checking in milliseconds that a full-size architecture
/// builds (every key read, every initializer shaped right) without writing gigabytes. Writing a model built from it fails.
/// </summary>
public sealed class ShapeOnlyCheckpoint : ICheckpointTensors
{
    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public ShapeOnlyCheckpoint(IEnumerable<(string Name, long[] Shape)> tensors)
    {
        foreach (var (name, shape) in tensors)
        {
            _shapes.Add(name, shape);
        }
    }

    public string Source => "shape-only checkpoint";
    public IEnumerable<string> Names => _shapes.Keys;
    public IReadOnlyCollection<string> Used => _used;
    public bool Contains(string name) => _shapes.ContainsKey(name);

    public long[] Shape(string name)
    {
        if (!_shapes.TryGetValue(name, out var shape))
        {
            throw new ModelLoadException(Source, $"Shape-only checkpoint has no tensor '{name}'.");
        }
        _used.Add(name);
        return shape;
    }

    public WeightData Float32(string name) =>
        WeightData.FromWriter(TensorShape.ElementCount(Shape(name)) * 4, _ => throw NoData(name));

    public WeightData Float32Transposed(string name) => Float32(name);

    public float[] ReadFloat32(string name)
    {
        Shape(name);
        throw NoData(name);
    }

    private static InvalidOperationException NoData(string name) =>
        new($"Tensor '{name}' comes from a shape-only checkpoint and has no data.");
}

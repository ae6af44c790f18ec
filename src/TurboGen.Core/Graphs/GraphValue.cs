namespace TurboGen.Graphs;

/// <summary>
/// A tensor value of a graph being built: a graph input, a node output, a weight or a constant, named by its ONNX value name.
/// Only <see cref="GraphBuilder"/> creates values (from inputs, weights and nodes), so a checkpoint key, an operator type or
/// any other string cannot be passed where a tensor is expected. <see cref="None"/> (the default) is the empty name ONNX uses
/// for an omitted optional input (e.g. Resize's roi).
/// </summary>
public readonly record struct GraphValue
{
    private readonly string? _name;

    internal GraphValue(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _name = name;
    }

    /// <summary>The omitted optional input (ONNX's empty value name).</summary>
    public static GraphValue None => default;

    /// <summary>The ONNX value name ("" for <see cref="None"/>).</summary>
    public string Name => _name ?? "";

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => _name is null;

    /// <summary>The ONNX value name.</summary>
    public override string ToString() => Name;
}

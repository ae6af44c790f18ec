using Google.Protobuf;
using Onnx;
using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Graphs;

/// <summary>ONNX tensor element types used by TurboGen (values are the ONNX <c>TensorProto.DataType</c> codes).</summary>
public enum ElementType
{
    /// <summary>float32.</summary>
    Float = 1,

    /// <summary>Unsigned 8-bit integer (int8 MatMul weights).</summary>
    UInt8 = 2,

    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 3,

    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,

    /// <summary>Signed 64-bit integer (shapes, axes, indices).</summary>
    Int64 = 7,

    /// <summary>Boolean, one byte per element.</summary>
    Bool = 9,

    /// <summary>IEEE float16.</summary>
    Float16 = 10,

    /// <summary>bfloat16.</summary>
    BFloat16 = 16,
}

/// <summary>One dimension of a declared graph input/output: a fixed size or a symbolic name (e.g. "batch").</summary>
public readonly record struct Dim(long? Value, string? Param)
{
    /// <summary>A fixed dimension.</summary>
    public static implicit operator Dim(long value) => new(value, null);

    /// <summary>A fixed dimension.</summary>
    public static implicit operator Dim(int value) => new(value, null);

    /// <summary>A symbolic dimension (e.g. "batch"), left free in the model.</summary>
    public static implicit operator Dim(string param) => new(null, param);

    /// <summary>The size, or the symbolic name, or "?" when neither is set.</summary>
    public override string ToString() => Value?.ToString() ?? Param ?? "?";
}

/// <summary>An initializer (weight) of a graph: its bytes come from a <see cref="WeightData"/> and are only materialised when the model is written.</summary>
public sealed record Initializer(string Name, ElementType Type, long[] Shape, WeightData Data);

/// <summary>
/// A small, readable builder over the ONNX protobuf types: declare inputs, weights and nodes, then write the
/// model (weights inline or in one external data file). Node names follow the current <see cref="Scope"/>, so a
/// graph built for <c>down_blocks.1.attentions.0</c> shows those names in any ONNX viewer.
/// </summary>
public sealed partial class GraphBuilder(string name, int opset = 17)
{
    /// <summary>The ONNX IR version written into models: 8.</summary>
    public const int IrVersion = 8;

    /// <summary>The ONNX Runtime contrib operator domain <c>com.microsoft</c> (fused attention, MatMulNBits, …); imported only when a node uses it.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    private readonly List<NodeProto> _nodes = [];
    private readonly List<ValueInfoProto> _inputs = [];
    private readonly List<ValueInfoProto> _outputs = [];
    private readonly List<Initializer> _initializers = [];
    private readonly Dictionary<string, int> _nameCounts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializerNames = new(StringComparer.Ordinal);
    private readonly Stack<string> _scopes = new();
    private bool _usesMicrosoftDomain;

    /// <summary>The graph's name (e.g. "unet"); also names float16 constants in error messages.</summary>
    public string Name { get; } = name;

    /// <summary>The default-domain opset the graph targets (17 unless given); <see cref="ReduceMean"/> adapts to it.</summary>
    public int Opset { get; } = opset;

    /// <summary>
    /// The element type of float activations, of <see cref="Const(float[], long[])"/> and of the weights <see cref="Nn"/> adds:
    /// <see cref="ElementType.Float"/> (default) or <see cref="ElementType.Float16"/> for a float16 graph. Graph inputs and
    /// outputs stay float32 (Olive's keep_io_types): architectures cast them with <see cref="FromFloat32"/> / <see cref="ToFloat32"/>,
    /// and build numerically sensitive parts in float32 with <see cref="InFloat32"/> or <see cref="FloatTypeScope"/>.
    /// </summary>
    public ElementType FloatType
    {
        get;
        set => field = value is ElementType.Float or ElementType.Float16
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "FloatType must be Float or Float16.");
    } = ElementType.Float;

    /// <summary>The weights and constants added so far, in order.</summary>
    public IReadOnlyList<Initializer> Initializers => _initializers;

    /// <summary>The nodes added so far, in topological order.</summary>
    public IReadOnlyList<NodeProto> Nodes => _nodes;

    /// <summary>The declared graph inputs.</summary>
    public IReadOnlyList<ValueInfoProto> Inputs => _inputs;

    /// <summary>The declared graph outputs.</summary>
    public IReadOnlyList<ValueInfoProto> Outputs => _outputs;

    /// <summary>Prefix for node names created inside the returned scope (nested scopes join with '.').</summary>
    public IDisposable Scope(string scope)
    {
        _scopes.Push(_scopes.Count == 0 ? scope : _scopes.Peek() + "." + scope);
        return new PopScope(_scopes);
    }

    private sealed class PopScope(Stack<string> stack) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (!_done) { stack.Pop(); _done = true; }
        }
    }

    /// <summary>The innermost <see cref="Scope"/> ("" outside any), e.g. "down_blocks.1.attentions.0".</summary>
    public string CurrentScope => _scopes.Count == 0 ? "" : _scopes.Peek();

    private string Unique(string baseName)
    {
        if (_nameCounts.TryGetValue(baseName, out int n))
        {
            _nameCounts[baseName] = n + 1;
            return $"{baseName}_{n}";
        }
        _nameCounts[baseName] = 1;
        return baseName;
    }

    private string Scoped(string local) => _scopes.Count == 0 ? local : _scopes.Peek() + "/" + local;

    // ---- declarations -------------------------------------------------------------------------

    /// <summary>Declares a graph input and returns its value.</summary>
    public GraphValue Input(string inputName, ElementType type, params Dim[] shape)
    {
        _inputs.Add(ValueInfo(inputName, type, shape));
        return new GraphValue(inputName);
    }

    /// <summary>Declares a graph output named <paramref name="outputName"/> carrying <paramref name="value"/> (an Identity is inserted when the names differ).</summary>
    public void Output(GraphValue value, string outputName, ElementType type, params Dim[] shape)
    {
        if (value.Name != outputName)
        {
            _nodes.Add(MakeNode("Identity", [value.Name], [outputName], Unique("output/" + outputName), "", []));
        }
        _outputs.Add(ValueInfo(outputName, type, shape));
    }

    /// <summary>Adds a weight under its exact (checkpoint) name and returns it as a value.</summary>
    public GraphValue Weight(string weightName, ElementType type, long[] shape, WeightData data)
    {
        long expected = TensorShape.ElementCount(shape) * ElementSize(type);
        if (data.ByteLength != expected)
        {
            throw new ArgumentException($"Weight '{weightName}': {data.ByteLength} bytes for shape [{string.Join(",", shape)}] {type} (expected {expected}).");
        }
        if (!_initializerNames.Add(weightName))
        {
            throw new ArgumentException($"Weight '{weightName}' is defined twice.");
        }
        _initializers.Add(new Initializer(weightName, type, shape, data));
        return new GraphValue(weightName);
    }

    /// <summary>A float32 weight from <paramref name="values"/> (not copied) under its exact name.</summary>
    public GraphValue Weight(string weightName, float[] values, params long[] shape) =>
        Weight(weightName, ElementType.Float, shape, WeightData.FromArray(values));

    /// <summary>A float constant of the activation type <see cref="FloatType"/> (stored as an initializer with a unique name).</summary>
    public GraphValue Const(float[] values, params long[] shape) => FloatType == ElementType.Float16
        ? Weight(Unique(Scoped("const")), ElementType.Float16, shape, WeightData.FromArray(Float16Weights.FromFloat32(values, Scoped("const"), Name)))
        : ConstFloat32(values, shape);

    /// <summary>A float32 constant whatever <see cref="FloatType"/> is (operands the ONNX spec requires as float, e.g. Resize scales).</summary>
    public GraphValue ConstFloat32(float[] values, params long[] shape) =>
        Weight(Unique(Scoped("const")), ElementType.Float, shape, WeightData.FromArray(values));

    /// <summary>A scalar-like float constant of shape [1] in <see cref="FloatType"/>.</summary>
    public GraphValue Const(float value) => Const([value]);

    /// <summary>An int64 constant (axes, shapes, indices).</summary>
    public GraphValue ConstInt64(params long[] values) =>
        Weight(Unique(Scoped("const_i64")), ElementType.Int64, [values.Length], WeightData.FromArray(values));

    // ---- nodes --------------------------------------------------------------------------------

    /// <summary>Adds a node with one output and returns the output value. Attributes are (name, value) pairs: long/int, float, string, long[], float[].</summary>
    public GraphValue Op(string opType, IReadOnlyList<GraphValue> inputs, params (string Name, object Value)[] attributes) =>
        OpN(opType, inputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs.</summary>
    public GraphValue[] OpN(string opType, IReadOnlyList<GraphValue> inputs, int outputCount, params (string Name, object Value)[] attributes) =>
        OpIn("", opType, inputs, outputCount, attributes);

    /// <summary>Adds a node of the com.microsoft contrib domain (ONNX Runtime fused kernels).</summary>
    public GraphValue MsOp(string opType, IReadOnlyList<GraphValue> inputs, params (string Name, object Value)[] attributes)
    {
        _usesMicrosoftDomain = true;
        return OpIn(MicrosoftDomain, opType, inputs, 1, attributes)[0];
    }

    private GraphValue[] OpIn(string domain, string opType, IReadOnlyList<GraphValue> inputs, int outputCount, (string Name, object Value)[] attributes)
    {
        string nodeName = Unique(Scoped(opType));
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            outputs[i] = outputCount == 1 ? nodeName + "_output" : $"{nodeName}_output_{i}";
        }
        _nodes.Add(MakeNode(opType, inputs.Select(v => v.Name).ToList(), outputs, nodeName, domain, attributes));
        return Array.ConvertAll(outputs, o => new GraphValue(o));
    }

    private static NodeProto MakeNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, string nodeName, string domain, (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = nodeName, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (attrName, value) in attributes)
        {
            node.Attribute.Add(MakeAttribute(attrName, value));
        }
        return node;
    }

    private static AttributeProto MakeAttribute(string attrName, object value)
    {
        var a = new AttributeProto { Name = attrName };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case int[] iz: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(iz.Select(x => (long)x)); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"Unsupported attribute type {value.GetType()} for '{attrName}'.");
        }
        return a;
    }

    // ---- common ops (thin, named after the ONNX operators) -----------------------------------

    /// <summary>ONNX Add (elementwise with numpy broadcasting); returns the output value.</summary>
    public GraphValue Add(GraphValue a, GraphValue b) => Op("Add", [a, b]);

    /// <summary>ONNX Sub: a − b with broadcasting.</summary>
    public GraphValue Sub(GraphValue a, GraphValue b) => Op("Sub", [a, b]);

    /// <summary>ONNX Mul: a · b with broadcasting.</summary>
    public GraphValue Mul(GraphValue a, GraphValue b) => Op("Mul", [a, b]);

    /// <summary>ONNX Div: a / b with broadcasting.</summary>
    public GraphValue Div(GraphValue a, GraphValue b) => Op("Div", [a, b]);

    /// <summary>ONNX MatMul (numpy matmul semantics, batched over leading axes).</summary>
    public GraphValue MatMul(GraphValue a, GraphValue b) => Op("MatMul", [a, b]);

    /// <summary>ONNX Sigmoid: 1/(1 + e^−x).</summary>
    public GraphValue Sigmoid(GraphValue x) => Op("Sigmoid", [x]);

    /// <summary>ONNX Tanh.</summary>
    public GraphValue Tanh(GraphValue x) => Op("Tanh", [x]);

    /// <summary>ONNX Relu: max(x, 0).</summary>
    public GraphValue Relu(GraphValue x) => Op("Relu", [x]);

    /// <summary>ONNX Softmax along <paramref name="axis"/> (default the last).</summary>
    public GraphValue Softmax(GraphValue x, int axis = -1) => Op("Softmax", [x], ("axis", axis));

    /// <summary>ONNX Transpose: output axis i is input axis perm[i].</summary>
    public GraphValue Transpose(GraphValue x, params long[] perm) => Op("Transpose", [x], ("perm", perm));

    /// <summary>ONNX Reshape to <paramref name="shape"/> (a constant; 0 copies the input's dimension, −1 is inferred).</summary>
    public GraphValue Reshape(GraphValue x, params long[] shape) => Op("Reshape", [x, ConstInt64(shape)]);

    /// <summary>ONNX Unsqueeze: inserts size-1 dimensions at <paramref name="axes"/>.</summary>
    public GraphValue Unsqueeze(GraphValue x, params long[] axes) => Op("Unsqueeze", [x, ConstInt64(axes)]);


    /// <summary>ONNX Concat of <paramref name="xs"/> along <paramref name="axis"/>.</summary>
    public GraphValue Concat(int axis, params GraphValue[] xs) => Op("Concat", xs, ("axis", axis));

    /// <summary>ONNX Cast to <paramref name="to"/>.</summary>
    public GraphValue Cast(GraphValue x, ElementType to) => Op("Cast", [x], ("to", (long)to));

    /// <summary>A float32 value (e.g. a graph input) as the activation type: a Cast in a float16 graph, <paramref name="x"/> itself otherwise.</summary>
    public GraphValue FromFloat32(GraphValue x) => FloatType == ElementType.Float ? x : Cast(x, FloatType);

    /// <summary>An activation as float32 (e.g. for a graph output): a Cast in a float16 graph, <paramref name="x"/> itself otherwise.</summary>
    public GraphValue ToFloat32(GraphValue x) => FloatType == ElementType.Float ? x : Cast(x, ElementType.Float);

    /// <summary>
    /// Builds <paramref name="body"/> in float32 inside a float16 graph (softmax, normalisation statistics): the activation
    /// <paramref name="x"/> is cast to float32, the body's constants and weights are float32, and its result is cast back.
    /// In a float32 graph this is just <c>body(x)</c>, without any extra node.
    /// </summary>
    public GraphValue InFloat32(GraphValue x, Func<GraphValue, GraphValue> body)
    {
        if (FloatType == ElementType.Float) return body(x);
        var outer = FloatType;
        GraphValue x32 = Cast(x, ElementType.Float);
        GraphValue y;
        using (FloatTypeScope(ElementType.Float))
        {
            y = body(x32);
        }
        return Cast(y, outer);
    }

    /// <summary>Sets <see cref="FloatType"/> until the returned scope is disposed (then restores the previous type).</summary>
    public IDisposable FloatTypeScope(ElementType type)
    {
        var outer = FloatType;
        FloatType = type;
        return new RestoreFloatType(this, outer);
    }

    private sealed class RestoreFloatType(GraphBuilder graph, ElementType outer) : IDisposable
    {
        public void Dispose() => graph.FloatType = outer;
    }

    /// <summary>ReduceMean over <paramref name="axes"/> (an attribute before opset 18, an input from 18 on).</summary>
    public GraphValue ReduceMean(GraphValue x, long[] axes, bool keepDims = true) => Opset >= 18
        ? Op("ReduceMean", [x, ConstInt64(axes)], ("keepdims", keepDims ? 1L : 0L))
        : Op("ReduceMean", [x], ("axes", axes), ("keepdims", keepDims ? 1L : 0L));


    /// <summary>ONNX 2-D Conv of <paramref name="x"/> [N,C,H,W] with weight <paramref name="w"/> [out, C/groups, k, k] and optional bias [out];
    /// the same stride and zero padding on both axes and all four sides.</summary>
    public GraphValue Conv(GraphValue x, GraphValue w, GraphValue? b, int stride = 1, int pad = 0, int groups = 1) =>
        Op("Conv", b is { } bias ? [x, w, bias] : [x, w],
            ("strides", new long[] { stride, stride }), ("pads", new long[] { pad, pad, pad, pad }), ("group", (long)groups));

    // ---- helpers ------------------------------------------------------------------------------

    /// <summary>A tensor value declaration (name, element type, fixed or symbolic dimensions) as graph inputs and outputs use.</summary>
    public static ValueInfoProto ValueInfo(string valueName, ElementType type, Dim[] shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Value is long v) dim.DimValue = v; else dim.DimParam = d.Param ?? "";
            tensorType.Shape.Dim.Add(dim);
        }
        return new ValueInfoProto { Name = valueName, Type = new TypeProto { TensorType = tensorType } };
    }

    /// <summary>Bytes per element: 8 for Int64, 4 for Float/Int32, 2 for Float16/BFloat16, 1 for UInt8/Int8/Bool.</summary>
    public static int ElementSize(ElementType type) => type switch
    {
        ElementType.Float or ElementType.Int32 => 4,
        ElementType.Int64 => 8,
        ElementType.Float16 or ElementType.BFloat16 => 2,
        ElementType.UInt8 or ElementType.Int8 or ElementType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}

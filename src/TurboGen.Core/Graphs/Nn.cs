using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Graphs;

/// <summary>
/// PyTorch-style layers emitted as ONNX nodes, reading their weights from a checkpoint by the module's key prefix
/// (e.g. <c>Linear(x, "text_model.encoder.layers.0.mlp.fc1")</c> uses <c>….fc1.weight</c> and <c>….fc1.bias</c>).
/// The architectures (CLIP, UNet, VAE, TAESD) are written with these, so they read like the module tree.
/// Initializers keep the checkpoint's key names. Activations are [N,C,H,W] for images and [B,T,C] for tokens.
/// </summary>
public sealed partial class Nn(GraphBuilder graph, ICheckpointTensors weights)
{
    private readonly Dictionary<string, GraphValue> _added = new(StringComparer.Ordinal);

    /// <summary>The graph the layers are added to.</summary>
    public GraphBuilder Graph { get; } = graph;

    /// <summary>The checkpoint the layers read their weights from.</summary>
    public ICheckpointTensors Checkpoint { get; } = weights;

    /// <summary>Operator forms for attention and Linear layers (<see cref="GraphKernels.Standard"/>: plain ONNX).</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;

    /// <summary>
    /// The tensors the architecture declares for its config (see <see cref="Checked"/>). When set, reading any other tensor
    /// throws naming the tensor and the checkpoint, so a block's <c>Declare</c> and its <c>Forward</c> cannot disagree.
    /// </summary>
    public TensorLayout? Declared { get; init; }

    /// <summary>
    /// Checks <paramref name="weights"/> against <paramref name="layout"/> before anything is built (every declared tensor present
    /// with its shape; all problems in one <see cref="ModelLoadException"/> naming the tensors and the file; <paramref name="what"/>
    /// names the model) and returns the layers that read only those tensors.
    /// </summary>
    public static Nn Checked(GraphBuilder graph, ICheckpointTensors weights, TensorLayout layout, string what, GraphKernels? kernels = null)
    {
        layout.Require(weights, what);
        return new Nn(graph, weights) { Declared = layout, Kernels = kernels ?? GraphKernels.Standard };
    }

    /// <summary>Whether the checkpoint has the tensor <paramref name="key"/> (e.g. to tell an optional bias).</summary>
    public bool Has(string key) => Checkpoint.Contains(key);

    /// <summary>The checkpoint tensor's shape; a missing key throws <see cref="ModelLoadException"/> naming the checkpoint and the key.</summary>
    public long[] Shape(string key) => Checkpoint.Shape(Read(key));

    /// <summary><paramref name="key"/>, after checking that the architecture declares it (when <see cref="Declared"/> is set).</summary>
    private string Read(string key)
    {
        if (Declared is { } layout && !layout.Declares(key))
        {
            throw new ModelLoadException(Checkpoint.Source,
                $"Tensor '{key}' of {Checkpoint.Source} is read by the build but not declared by the architecture's layout (a block's Declare and Forward disagree).");
        }
        return key;
    }

    /// <summary>
    /// A node scope named after module <paramref name="prefix"/>, relative to the enclosing scope when the prefix continues it
    /// (inside scope <c>down_blocks.1</c>, module <c>down_blocks.1.resnets.0</c> scopes as <c>down_blocks.1.resnets.0</c>, not doubled).
    /// </summary>
    public IDisposable ModuleScope(string prefix)
    {
        string current = Graph.CurrentScope;
        bool nested = current.Length > 0 && prefix.StartsWith(current + ".", StringComparison.Ordinal);
        return Graph.Scope(nested ? prefix[(current.Length + 1)..] : prefix);
    }

    /// <summary>Adds checkpoint tensor <paramref name="key"/> as an initializer (once, in <see cref="GraphBuilder.FloatType"/>), optionally with another shape of the same element count.</summary>
    public GraphValue Param(string key, long[]? shape = null)
    {
        string id = (shape is null ? key : key + "|" + string.Join(",", shape)) + FloatTypeId;
        if (_added.TryGetValue(id, out GraphValue existing)) return existing;
        var src = Shape(key);
        shape ??= src;
        if (TensorShape.ElementCount(shape) != TensorShape.ElementCount(src))
        {
            throw new ModelLoadException(Checkpoint.Source, $"Tensor '{key}' has shape [{string.Join(",", src)}]; cannot view it as [{string.Join(",", shape)}].");
        }
        string name = shape == src ? key : $"{key}:{string.Join("x", shape)}";
        var value = Graph.Weight(name, Graph.FloatType, shape, Graph.FloatType == ElementType.Float16 ? Checkpoint.Float16(key) : Checkpoint.Float32(key));
        _added[id] = value;
        return value;
    }

    private string FloatTypeId => Graph.FloatType == ElementType.Float ? "" : "|" + Graph.FloatType;

    private GraphValue ParamTransposed(string key)
    {
        string id = key + "|T" + FloatTypeId;
        if (_added.TryGetValue(id, out GraphValue existing)) return existing;
        var s = LinearWeightShape(key);
        var value = Graph.Weight(key + ".T", Graph.FloatType, [s[1], s[0]], Graph.FloatType == ElementType.Float16 ? Checkpoint.Float16Transposed(key) : Checkpoint.Float32Transposed(key));
        _added[id] = value;
        return value;
    }

    /// <summary>The shape [out, in] of Linear weight <paramref name="key"/>; throws naming the tensor and file if it is not 2-D.</summary>
    private long[] LinearWeightShape(string key)
    {
        var s = Shape(key);
        if (s.Length != 2)
        {
            throw new ModelLoadException(Checkpoint.Source, $"Tensor '{key}' has shape [{string.Join(",", s)}], expected [out, in] for a Linear layer.");
        }
        return s;
    }

    /// <summary>y = x·Wᵀ + b over the last axis (PyTorch nn.Linear; weight [out, in] stored transposed).</summary>
    public GraphValue Linear(GraphValue x, string prefix, bool bias = true)
    {
        using var _ = ModuleScope(prefix);
        if (Kernels.QuantizesLinear(prefix))
        {
            return QuantizedLinear(x, prefix, bias && Has(prefix + ".bias"));
        }
        GraphValue y = Graph.MatMul(x, ParamTransposed(prefix + ".weight"));
        return bias && Has(prefix + ".bias") ? Graph.Add(y, Param(prefix + ".bias")) : y;
    }

    /// <summary>nn.Conv2d with symmetric padding (default kernel/2) or explicit ONNX pads [top, left, bottom, right].</summary>
    public GraphValue Conv2d(GraphValue x, string prefix, int stride = 1, int? padding = null, long[]? pads = null)
    {
        using var _ = ModuleScope(prefix);
        GraphValue w = Param(prefix + ".weight");
        long[] kernel = Shape(prefix + ".weight");
        long k = kernel[2];
        int p = padding ?? (int)(k / 2);
        var inputs = Has(prefix + ".bias") ? new[] { x, w, Param(prefix + ".bias") } : new[] { x, w };
        return Graph.Op("Conv", inputs,
            ("strides", new long[] { stride, stride }),
            ("pads", pads ?? new long[] { p, p, p, p }),
            ("kernel_shape", new long[] { k, kernel[3] }));
    }

    /// <summary>nn.GroupNorm on [N,C,H,W] (or [N,C,L]): normalise per group via InstanceNormalization, then per-channel affine (float32 in a float16 graph, as PyTorch computes it).</summary>
    public GraphValue GroupNorm(GraphValue x, string prefix, int groups, float eps)
    {
        using var _ = ModuleScope(prefix);
        long c = Shape(prefix + ".weight")[0];
        return Graph.InFloat32(x, x32 =>
        {
            GraphValue grouped = Graph.Reshape(x32, 0, groups, -1);
            GraphValue ones = Graph.Const(Enumerable.Repeat(1f, groups).ToArray(), groups);
            GraphValue zeros = Graph.Const(new float[groups], groups);
            GraphValue normed = Graph.Op("InstanceNormalization", [grouped, ones, zeros], ("epsilon", eps));
            GraphValue back = Graph.Op("Reshape", [normed, Graph.Op("Shape", [x32])]);
            GraphValue gamma = Param(prefix + ".weight", [c, 1, 1]);
            GraphValue beta = Param(prefix + ".bias", [c, 1, 1]);
            return Graph.Add(Graph.Mul(back, gamma), beta);
        });
    }

    /// <summary>nn.LayerNorm over the last axis (in a float16 graph the statistics are float32: the default stash_type 1).</summary>
    public GraphValue LayerNorm(GraphValue x, string prefix, float eps)
    {
        using var _ = ModuleScope(prefix);
        return Graph.Op("LayerNormalization", [x, Param(prefix + ".weight"), Param(prefix + ".bias")], ("axis", -1L), ("epsilon", eps));
    }

    /// <summary>Exact GELU: 0.5·x·(1 + erf(x/√2)).</summary>
    public GraphValue Gelu(GraphValue x)
    {
        GraphValue erf = Graph.Op("Erf", [Graph.Mul(x, Graph.Const(1f / MathF.Sqrt(2f)))]);
        return Graph.Mul(Graph.Mul(x, Graph.Const(0.5f)), Graph.Add(erf, Graph.Const(1f)));
    }

    /// <summary>CLIP's quick GELU: x·σ(1.702·x).</summary>
    public GraphValue QuickGelu(GraphValue x) => Graph.Mul(x, Graph.Sigmoid(Graph.Mul(x, Graph.Const(1.702f))));

    /// <summary>nn.SiLU: x·σ(x).</summary>
    public GraphValue Silu(GraphValue x) => Graph.Mul(x, Graph.Sigmoid(x));

    /// <summary>
    /// Scaled dot-product attention with <paramref name="heads"/> heads: q [B,Tq,C], k and v [B,Tk,C] → [B,Tq,C].
    /// <paramref name="mask"/> (optional, float32) is added to the scores (broadcastable to [B,H,Tq,Tk]). Scaling, mask and
    /// softmax are float32 in a float16 graph.
    /// </summary>
    public GraphValue Attention(GraphValue q, GraphValue k, GraphValue v, int heads, long channels, GraphValue? mask = null)
    {
        if (Kernels.FusedAttention && mask is null)
        {
            // One fused kernel: softmax(Q·Kᵀ/√d)·V per head without materialising the [B,H,Tq,Tk] scores.
            return Graph.MsOp("MultiHeadAttention", [q, k, v], ("num_heads", (long)heads));
        }
        long d = channels / heads;
        GraphValue qh = Graph.Transpose(Graph.Reshape(q, 0, 0, heads, d), 0, 2, 1, 3);   // [B,H,Tq,D]
        GraphValue kt = Graph.Transpose(Graph.Reshape(k, 0, 0, heads, d), 0, 2, 3, 1);   // [B,H,D,Tk]
        GraphValue vh = Graph.Transpose(Graph.Reshape(v, 0, 0, heads, d), 0, 2, 1, 3);   // [B,H,Tk,D]
        GraphValue probs = Graph.InFloat32(Graph.MatMul(qh, kt), raw =>
        {
            GraphValue scores = Graph.Mul(raw, Graph.Const(1f / MathF.Sqrt(d)));
            if (mask is { } m) scores = Graph.Add(scores, m);
            return Graph.Softmax(scores, -1);
        });
        GraphValue o = Graph.Transpose(Graph.MatMul(probs, vh), 0, 2, 1, 3);            // [B,Tq,H,D]
        return Graph.Reshape(o, 0, 0, channels);
    }

    /// <summary>Nearest-neighbour upsampling of [N,C,H,W] by <paramref name="factor"/> (torch F.interpolate(scale_factor=factor, mode="nearest")).</summary>
    public GraphValue UpsampleNearest(GraphValue x, float factor = 2f) =>
        ResizeNearest([x, GraphValue.None, Graph.ConstFloat32([1f, 1f, factor, factor], 4)]);

    /// <summary>Nearest-neighbour upsampling of [N,C,H,W] to the spatial size of <paramref name="sizeLike"/> (diffusers' <c>upsample_size</c>).</summary>
    public GraphValue UpsampleNearestTo(GraphValue x, GraphValue sizeLike)
    {
        GraphValue sizes = Graph.Concat(0,
            Graph.Op("Shape", [x], ("start", 0L), ("end", 2L)),
            Graph.Op("Shape", [sizeLike], ("start", 2L), ("end", 4L)));
        return ResizeNearest([x, GraphValue.None, GraphValue.None, sizes]);
    }

    /// <summary>ONNX Resize as torch's nearest mode: asymmetric coordinates, floor.</summary>
    private GraphValue ResizeNearest(GraphValue[] inputs) =>
        Graph.Op("Resize", inputs, ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
}

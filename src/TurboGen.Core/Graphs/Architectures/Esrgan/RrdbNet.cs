using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Esrgan;

/// <summary>
/// Builds the ONNX graph of BasicSR's <c>RRDBNet</c> (ESRGAN, Real-ESRGAN x4plus/x2plus, the anime 6B variants) from a
/// checkpoint with the Real-ESRGAN key names (<c>conv_first</c>, <c>body.N.rdbK.convM</c>, <c>conv_body</c>,
/// <c>conv_up1</c>, <c>conv_up2</c>, <c>conv_hr</c>, <c>conv_last</c>).
/// <para>
/// Graph: <c>image</c> [batch, 3, height, width] (RGB in [0, 1]) → <c>upscaled</c> [batch, 3, height·scale, width·scale],
/// not clamped. For ×2 / ×1 the input is pixel-unshuffled by 2 / 4 first (channel c·r² + dy·r + dx, as
/// <c>torch.nn.functional.pixel_unshuffle</c>), so the sides must be multiples of 2 / 4. Then conv_first → the trunk of
/// RRDB blocks → conv_body, added to the trunk input; two rounds of nearest ×2 upsampling + conv + LeakyReLU(0.2);
/// conv_hr + LeakyReLU; conv_last. An RDB is five 3×3 convs on the concatenation of its input and all earlier outputs
/// (LeakyReLU after the first four), its output x5·0.2 + x; an RRDB is three RDBs, its output ·0.2 + x.
/// </para>
/// </summary>
public static class RrdbNet
{
    /// <summary>Name of the graph input: <c>image</c> [batch, 3, height, width], RGB in [0, 1].</summary>
    public const string InputName = "image";

    /// <summary>Name of the graph output: <c>upscaled</c> [batch, 3, height·scale, width·scale], not clamped.</summary>
    public const string OutputName = "upscaled";
    private const float LeakySlope = 0.2f;
    private const float ResidualScale = 0.2f;

    /// <summary>The graph for <paramref name="config"/>; the checkpoint is checked first (missing and wrongly shaped tensors in one error) and every key must be read.</summary>
    public static GraphBuilder Build(RrdbNetConfig config, ICheckpointTensors weights, BuildPrecision precision = BuildPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config.Validate(weights.Source);

        var g = new GraphBuilder("rrdbnet") { FloatType = precision.FloatType() };
        var nn = Nn.Checked(g, weights, Layout(config), "RRDBNet");
        GraphValue image = g.Input(InputName, ElementType.Float, "batch", config.NumInChannels, "height", "width");
        GraphValue x = g.FromFloat32(image);
        if (config.UnshuffleFactor > 1)
        {
            x = PixelUnshuffle(g, x, config.NumInChannels, config.UnshuffleFactor);
        }
        GraphValue feat = nn.Conv2d(x, "conv_first");
        GraphValue body = feat;
        for (int i = 0; i < config.NumBlock; i++)
        {
            body = Rrdb(nn, body, $"body.{i}");
        }
        feat = g.Add(feat, nn.Conv2d(body, "conv_body"));
        feat = LeakyRelu(g, nn.Conv2d(nn.UpsampleNearest(feat), "conv_up1"));
        feat = LeakyRelu(g, nn.Conv2d(nn.UpsampleNearest(feat), "conv_up2"));
        GraphValue output = nn.Conv2d(LeakyRelu(g, nn.Conv2d(feat, "conv_hr")), "conv_last");
        g.Output(g.ToFloat32(output), OutputName, ElementType.Float, "batch", config.NumOutChannels, "upscaled_height", "upscaled_width");

        TensorLayout.RequireAllUsed(weights, _ => false, "RRDBNet");
        return g;
    }

    /// <summary>Every tensor (name → shape) of an RRDBNet state_dict for <paramref name="config"/>, in module order.</summary>
    public static IReadOnlyDictionary<string, long[]> ExpectedTensors(RrdbNetConfig config) => Layout(config).ToDictionary();

    private static TensorLayout Layout(RrdbNetConfig config)
    {
        var t = new TensorLayout();
        void Conv(string p, long cout, long cin) => t.Conv2d(p, cin, cout, 3);
        long f = config.NumFeat, gc = config.NumGrowChannels;
        long u = config.UnshuffleFactor;
        Conv("conv_first", f, config.NumInChannels * u * u);
        for (int i = 0; i < config.NumBlock; i++)
        {
            for (int r = 1; r <= 3; r++)
            {
                string p = $"body.{i}.rdb{r}";
                for (int k = 1; k <= 4; k++) Conv($"{p}.conv{k}", gc, f + (k - 1) * gc);
                Conv($"{p}.conv5", f, f + 4 * gc);
            }
        }
        Conv("conv_body", f, f);
        Conv("conv_up1", f, f);
        Conv("conv_up2", f, f);
        Conv("conv_hr", f, f);
        Conv("conv_last", config.NumOutChannels, f);
        return t;
    }

    private static GraphValue Rrdb(Nn nn, GraphValue x, string prefix)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue y = x;
        for (int r = 1; r <= 3; r++) y = Rdb(nn, y, $"{prefix}.rdb{r}");
        return nn.Graph.Add(nn.Graph.Mul(y, nn.Graph.Const(ResidualScale)), x);
    }

    private static GraphValue Rdb(Nn nn, GraphValue x, string prefix)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        var parts = new List<GraphValue> { x };
        for (int k = 1; k <= 4; k++)
        {
            GraphValue input = parts.Count == 1 ? x : g.Concat(1, [.. parts]);
            parts.Add(LeakyRelu(g, nn.Conv2d(input, $"{prefix}.conv{k}")));
        }
        GraphValue x5 = nn.Conv2d(g.Concat(1, [.. parts]), $"{prefix}.conv5");
        return g.Add(g.Mul(x5, g.Const(ResidualScale)), x);
    }

    private static GraphValue LeakyRelu(GraphBuilder g, GraphValue x) => g.Op("LeakyRelu", [x], ("alpha", LeakySlope));

    /// <summary>
    /// torch's pixel_unshuffle(x, r) of [N, C, H, W] → [N, C·r², H/r, W/r] with output channel c·r² + dy·r + dx. ONNX
    /// SpaceToDepth gives channel (dy·r + dx)·C + c, so its channels are gathered into torch's order.
    /// </summary>
    private static GraphValue PixelUnshuffle(GraphBuilder g, GraphValue x, int channels, int r)
    {
        GraphValue s2d = g.Op("SpaceToDepth", [x], ("blocksize", (long)r));
        int rr = r * r;
        var order = new long[channels * rr];
        for (int j = 0; j < order.Length; j++)
        {
            order[j] = (j % rr) * channels + j / rr;
        }
        return g.Op("Gather", [s2d, g.ConstInt64(order)], ("axis", 1L));
    }
}

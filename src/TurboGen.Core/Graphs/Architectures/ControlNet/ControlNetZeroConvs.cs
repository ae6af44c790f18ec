namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// The ControlNet's "zero convolutions": <c>controlnet_down_blocks.i</c> (one 1×1 conv per UNet skip connection) and
/// <c>controlnet_mid_block</c> (1×1 conv on the mid block's output), zero-initialised in training so an untrained ControlNet
/// leaves the UNet unchanged. Their outputs are the residuals, scaled by the conditioning scale (and averaged over space
/// when <c>global_pool_conditions</c>).
/// </summary>
internal sealed class ControlNetZeroConvs(Nn nn, ControlNetConfig config)
{
    public const string DownPrefix = "controlnet_down_blocks";
    public const string MidPrefix = "controlnet_mid_block";

    /// <summary>One 1×1 conv per UNet skip connection at its width, then one at the deepest width.</summary>
    public static void Declare(TensorLayout t, ControlNetConfig config)
    {
        var skips = config.Unet.SkipChannels();
        for (int i = 0; i < skips.Count; i++)
        {
            t.Conv2d($"{DownPrefix}.{i}", skips[i], skips[i], 1);
        }
        int deepest = config.Unet.BlockOutChannels[^1];
        t.Conv2d(MidPrefix, deepest, deepest, 1);
    }

    public IReadOnlyList<GraphValue> Down(IReadOnlyList<GraphValue> skips, GraphValue scale)
    {
        using var _ = nn.ModuleScope(DownPrefix);
        return skips.Select((s, i) => Finish(nn.Conv2d(s, $"{DownPrefix}.{i}"), scale)).ToList();
    }

    public GraphValue Mid(GraphValue x, GraphValue scale) => Finish(nn.Conv2d(x, MidPrefix), scale);

    private GraphValue Finish(GraphValue residual, GraphValue scale)
    {
        var g = nn.Graph;
        GraphValue scaled = g.Mul(residual, scale);
        return config.GlobalPoolConditions ? g.Op("ReduceMean", [scaled], ("axes", new long[] { 2, 3 }), ("keepdims", 1L)) : scaled;
    }
}

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// diffusers <c>ResnetBlock2D</c>: norm1 → SiLU → conv1, plus time_emb_proj(SiLU(temb)) per channel, norm2 → SiLU →
/// conv2, added to the input (through the 1×1 <c>conv_shortcut</c> when the channel count changes), divided by the
/// block's output scale factor. <c>tembActivated</c> is SiLU(temb), computed once for the whole UNet.
/// </summary>
internal sealed class ResnetBlock2D(Nn nn, string prefix, int groups, float eps, float outputScaleFactor = 1f)
{
    /// <summary>The block's tensors: norm1, conv1, time_emb_proj, norm2, conv2, and conv_shortcut when the channel count changes.</summary>
    public static void Declare(TensorLayout t, string prefix, long inChannels, long outChannels, long timeEmbedDim)
    {
        t.Norm(prefix + ".norm1", inChannels);
        t.Conv2d(prefix + ".conv1", inChannels, outChannels, 3);
        t.Linear(prefix + ".time_emb_proj", timeEmbedDim, outChannels);
        t.Norm(prefix + ".norm2", outChannels);
        t.Conv2d(prefix + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels) t.Conv2d(prefix + ".conv_shortcut", inChannels, outChannels, 1);
    }

    public GraphValue Forward(GraphValue x, GraphValue tembActivated)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        GraphValue h = nn.Silu(nn.GroupNorm(x, prefix + ".norm1", groups, eps));
        h = nn.Conv2d(h, prefix + ".conv1");
        GraphValue t = nn.Linear(tembActivated, prefix + ".time_emb_proj");   // [B, C_out]
        h = g.Add(h, g.Unsqueeze(t, 2, 3));
        h = nn.Silu(nn.GroupNorm(h, prefix + ".norm2", groups, eps));
        h = nn.Conv2d(h, prefix + ".conv2");

        long[] conv1 = nn.Shape(prefix + ".conv1.weight");
        GraphValue shortcut = conv1[0] != conv1[1] ? nn.Conv2d(x, prefix + ".conv_shortcut") : x;
        GraphValue y = g.Add(shortcut, h);
        return outputScaleFactor == 1f ? y : g.Div(y, g.Const(outputScaleFactor));
    }
}

namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>
/// diffusers <c>ResnetBlock2D</c> without time embedding (the VAE's): x + conv2(SiLU(norm2(conv1(SiLU(norm1(x)))))), with a
/// 1×1 <c>conv_shortcut</c> when the channel count changes.
/// </summary>
internal sealed class ResnetBlock2D(Nn nn, string prefix, int groups, float eps)
{
    public static void Declare(TensorLayout t, string prefix, long inChannels, long outChannels)
    {
        t.Norm(prefix + ".norm1", inChannels);
        t.Conv2d(prefix + ".conv1", inChannels, outChannels, 3);
        t.Norm(prefix + ".norm2", outChannels);
        t.Conv2d(prefix + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels) t.Conv2d(prefix + ".conv_shortcut", inChannels, outChannels, 1);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue h = nn.Conv2d(nn.Silu(nn.GroupNorm(x, prefix + ".norm1", groups, eps)), prefix + ".conv1");
        h = nn.Conv2d(nn.Silu(nn.GroupNorm(h, prefix + ".norm2", groups, eps)), prefix + ".conv2");
        bool channelsChange = nn.Shape(prefix + ".conv1.weight")[1] != nn.Shape(prefix + ".conv2.weight")[0];
        GraphValue shortcut = channelsChange ? nn.Conv2d(x, prefix + ".conv_shortcut") : x;
        return nn.Graph.Add(shortcut, h);
    }
}

namespace TurboGen.Graphs.Architectures.Taesd;

/// <summary>
/// diffusers <c>AutoencoderTinyBlock</c>: ReLU(conv(x) + skip(x)), conv = conv-act-conv-act-conv (<c>conv.0</c>, <c>conv.2</c>,
/// <c>conv.4</c>), skip = 1×1 bias-free conv when the channel count changes, else identity.
/// </summary>
internal sealed class AutoencoderTinyBlock(Nn nn, AutoencoderTinyConfig config, string prefix)
{
    public static void Declare(TensorLayout t, string prefix, long inChannels, long outChannels)
    {
        t.Conv2d(prefix + ".conv.0", inChannels, outChannels, 3);
        t.Conv2d(prefix + ".conv.2", outChannels, outChannels, 3);
        t.Conv2d(prefix + ".conv.4", outChannels, outChannels, 3);
        if (inChannels != outChannels) t.Conv2d(prefix + ".skip", inChannels, outChannels, 1, bias: false);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue h = Activation(nn, config, nn.Conv2d(x, prefix + ".conv.0"));
        h = Activation(nn, config, nn.Conv2d(h, prefix + ".conv.2"));
        h = nn.Conv2d(h, prefix + ".conv.4");
        bool channelsChange = nn.Shape(prefix + ".conv.0.weight")[1] != nn.Shape(prefix + ".conv.4.weight")[0];
        GraphValue skip = channelsChange ? nn.Conv2d(x, prefix + ".skip") : x;
        return nn.Graph.Relu(nn.Graph.Add(h, skip));
    }

    /// <summary>The config's act_fn: SiLU or ReLU.</summary>
    public static GraphValue Activation(Nn nn, AutoencoderTinyConfig config, GraphValue x) => config.ActFn == "silu" ? nn.Silu(x) : nn.Graph.Relu(x);
}

namespace TurboGen.Graphs.Architectures.Taesd;

/// <summary>
/// diffusers <c>EncoderTiny</c>: <c>layers</c> is an <c>nn.Sequential</c> of, per stage, a conv (stride 2 and bias-free after
/// the first stage) and <see cref="AutoencoderTinyBlock"/>s, then the latent conv.
/// </summary>
internal sealed class EncoderTiny(Nn nn, AutoencoderTinyConfig config, string prefix)
{
    public static void Declare(TensorLayout t, AutoencoderTinyConfig config, string prefix)
    {
        var chans = config.EncoderBlockOutChannels;
        int index = 0;
        for (int i = 0; i < chans.Count; i++)
        {
            if (i == 0) t.Conv2d($"{prefix}.layers.{index++}", config.InChannels, chans[0], 3);
            else t.Conv2d($"{prefix}.layers.{index++}", chans[i], chans[i], 3, bias: false);
            for (int j = 0; j < config.NumEncoderBlocks[i]; j++)
            {
                AutoencoderTinyBlock.Declare(t, $"{prefix}.layers.{index++}", chans[i], chans[i]);
            }
        }
        t.Conv2d($"{prefix}.layers.{index}", chans[^1], config.LatentChannels, 3);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        int index = 0;
        for (int i = 0; i < config.EncoderBlockOutChannels.Count; i++)
        {
            x = nn.Conv2d(x, $"{prefix}.layers.{index++}", stride: i == 0 ? 1 : 2);
            for (int j = 0; j < config.NumEncoderBlocks[i]; j++)
            {
                x = new AutoencoderTinyBlock(nn, config, $"{prefix}.layers.{index++}").Forward(x);
            }
        }
        return nn.Conv2d(x, $"{prefix}.layers.{index}");
    }
}

/// <summary>
/// diffusers <c>DecoderTiny</c>: tanh(x/3)·3, then <c>layers</c>: conv, act, per stage <see cref="AutoencoderTinyBlock"/>s and
/// (nearest upsampling, bias-free conv), the last stage ending with the output conv. Every Sequential index is counted as in
/// diffusers, the weightless activation and upsampling layers included.
/// </summary>
internal sealed class DecoderTiny(Nn nn, AutoencoderTinyConfig config, string prefix)
{
    public static void Declare(TensorLayout t, AutoencoderTinyConfig config, string prefix)
    {
        var chans = config.DecoderBlockOutChannels;
        t.Conv2d($"{prefix}.layers.0", config.LatentChannels, chans[0], 3);
        int index = 2; // layers.1 is the activation
        for (int i = 0; i < chans.Count; i++)
        {
            bool final = i == chans.Count - 1;
            for (int j = 0; j < config.NumDecoderBlocks[i]; j++)
            {
                AutoencoderTinyBlock.Declare(t, $"{prefix}.layers.{index++}", chans[i], chans[i]);
            }
            if (!final) index++; // the Upsample layer
            t.Conv2d($"{prefix}.layers.{index++}", chans[i], final ? config.OutChannels : chans[i], 3, bias: final);
        }
    }

    public GraphValue Forward(GraphValue z)
    {
        using var _ = nn.ModuleScope(prefix);
        var g = nn.Graph;
        GraphValue x = g.Mul(g.Tanh(g.Div(z, g.Const(3f))), g.Const(3f));
        x = AutoencoderTinyBlock.Activation(nn, config, nn.Conv2d(x, $"{prefix}.layers.0"));
        int index = 2;
        int stages = config.DecoderBlockOutChannels.Count;
        for (int i = 0; i < stages; i++)
        {
            for (int j = 0; j < config.NumDecoderBlocks[i]; j++)
            {
                x = new AutoencoderTinyBlock(nn, config, $"{prefix}.layers.{index++}").Forward(x);
            }
            if (i < stages - 1)
            {
                x = nn.UpsampleNearest(x, config.UpsamplingScalingFactor);
                index++;
            }
            x = nn.Conv2d(x, $"{prefix}.layers.{index++}");
        }
        return x;
    }
}

namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>diffusers <c>DownEncoderBlock2D</c>: layers_per_block resnets, then <c>Downsample2D</c> (pad right/bottom by 1, 3×3 conv stride 2, no padding).</summary>
internal sealed class DownEncoderBlock2D(Nn nn, AutoencoderKlConfig config, string prefix, bool addDownsample)
{
    public static void Declare(TensorLayout t, AutoencoderKlConfig config, string prefix, long inChannels, long outChannels, bool addDownsample)
    {
        for (int j = 0; j < config.LayersPerBlock; j++)
        {
            ResnetBlock2D.Declare(t, $"{prefix}.resnets.{j}", j == 0 ? inChannels : outChannels, outChannels);
        }
        if (addDownsample) t.Conv2d(prefix + ".downsamplers.0.conv", outChannels, outChannels, 3);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        for (int j = 0; j < config.LayersPerBlock; j++)
        {
            x = new ResnetBlock2D(nn, $"{prefix}.resnets.{j}", config.NormNumGroups, AutoencoderKlConfig.NormEps).Forward(x);
        }
        if (addDownsample)
        {
            // F.pad(x, (0, 1, 0, 1)) then conv(stride 2, padding 0) == conv with ONNX pads [top 0, left 0, bottom 1, right 1].
            x = nn.Conv2d(x, prefix + ".downsamplers.0.conv", stride: 2, pads: [0, 0, 1, 1]);
        }
        return x;
    }
}

/// <summary>diffusers <c>UpDecoderBlock2D</c>: layers_per_block+1 resnets, then <c>Upsample2D</c> (nearest ×2, 3×3 conv).</summary>
internal sealed class UpDecoderBlock2D(Nn nn, AutoencoderKlConfig config, string prefix, bool addUpsample)
{
    public static void Declare(TensorLayout t, AutoencoderKlConfig config, string prefix, long inChannels, long outChannels, bool addUpsample)
    {
        for (int j = 0; j < config.LayersPerBlock + 1; j++)
        {
            ResnetBlock2D.Declare(t, $"{prefix}.resnets.{j}", j == 0 ? inChannels : outChannels, outChannels);
        }
        if (addUpsample) t.Conv2d(prefix + ".upsamplers.0.conv", outChannels, outChannels, 3);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        for (int j = 0; j < config.LayersPerBlock + 1; j++)
        {
            x = new ResnetBlock2D(nn, $"{prefix}.resnets.{j}", config.NormNumGroups, AutoencoderKlConfig.NormEps).Forward(x);
        }
        if (addUpsample)
        {
            x = nn.Conv2d(nn.UpsampleNearest(x), prefix + ".upsamplers.0.conv");
        }
        return x;
    }
}

/// <summary>diffusers <c>UNetMidBlock2D</c> without time embedding: resnet → <see cref="Attention"/> (if mid_block_add_attention) → resnet.</summary>
internal sealed class UNetMidBlock2D(Nn nn, AutoencoderKlConfig config, string prefix, Attention.Names attentionNames)
{
    public static void Declare(TensorLayout t, AutoencoderKlConfig config, string prefix, long channels, Attention.Names attentionNames)
    {
        ResnetBlock2D.Declare(t, prefix + ".resnets.0", channels, channels);
        if (config.MidBlockAddAttention) Attention.Declare(t, prefix + ".attentions.0", channels, attentionNames);
        ResnetBlock2D.Declare(t, prefix + ".resnets.1", channels, channels);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        int groups = config.NormNumGroups;
        const float eps = AutoencoderKlConfig.NormEps;
        x = new ResnetBlock2D(nn, prefix + ".resnets.0", groups, eps).Forward(x);
        if (config.MidBlockAddAttention)
        {
            x = new Attention(nn, prefix + ".attentions.0", attentionNames, groups, eps).Forward(x);
        }
        return new ResnetBlock2D(nn, prefix + ".resnets.1", groups, eps).Forward(x);
    }
}

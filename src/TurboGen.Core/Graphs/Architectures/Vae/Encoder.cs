namespace TurboGen.Graphs.Architectures.Vae;

/// <summary>diffusers vae.py <c>Encoder</c>: conv_in → <see cref="DownEncoderBlock2D"/> × n → <see cref="UNetMidBlock2D"/> → GroupNorm → SiLU → conv_out (mean ‖ logvar).</summary>
internal sealed class Encoder(Nn nn, AutoencoderKlConfig config, string prefix, Attention.Names attentionNames)
{
    public static void Declare(TensorLayout t, AutoencoderKlConfig config, string prefix, Attention.Names attentionNames)
    {
        var boc = config.BlockOutChannels;
        t.Conv2d(prefix + ".conv_in", config.InChannels, boc[0], 3);
        int prev = boc[0];
        for (int i = 0; i < boc.Count; i++)
        {
            DownEncoderBlock2D.Declare(t, config, $"{prefix}.down_blocks.{i}", prev, boc[i], addDownsample: i < boc.Count - 1);
            prev = boc[i];
        }
        UNetMidBlock2D.Declare(t, config, prefix + ".mid_block", boc[^1], attentionNames);
        t.Norm(prefix + ".conv_norm_out", boc[^1]);
        t.Conv2d(prefix + ".conv_out", boc[^1], 2 * config.LatentChannels, 3);
    }

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        x = nn.Conv2d(x, prefix + ".conv_in");
        int blocks = config.BlockOutChannels.Count;
        for (int i = 0; i < blocks; i++)
        {
            x = new DownEncoderBlock2D(nn, config, $"{prefix}.down_blocks.{i}", addDownsample: i < blocks - 1).Forward(x);
        }
        x = new UNetMidBlock2D(nn, config, prefix + ".mid_block", attentionNames).Forward(x);
        x = nn.Silu(nn.GroupNorm(x, prefix + ".conv_norm_out", config.NormNumGroups, AutoencoderKlConfig.NormEps));
        return nn.Conv2d(x, prefix + ".conv_out");
    }
}

/// <summary>diffusers vae.py <c>Decoder</c>: conv_in → <see cref="UNetMidBlock2D"/> → <see cref="UpDecoderBlock2D"/> × n → GroupNorm → SiLU → conv_out.</summary>
internal sealed class Decoder(Nn nn, AutoencoderKlConfig config, string prefix, Attention.Names attentionNames)
{
    public static void Declare(TensorLayout t, AutoencoderKlConfig config, string prefix, Attention.Names attentionNames)
    {
        var rev = config.BlockOutChannels.Reverse().ToArray();
        t.Conv2d(prefix + ".conv_in", config.LatentChannels, rev[0], 3);
        UNetMidBlock2D.Declare(t, config, prefix + ".mid_block", rev[0], attentionNames);
        int prev = rev[0];
        for (int i = 0; i < rev.Length; i++)
        {
            UpDecoderBlock2D.Declare(t, config, $"{prefix}.up_blocks.{i}", prev, rev[i], addUpsample: i < rev.Length - 1);
            prev = rev[i];
        }
        t.Norm(prefix + ".conv_norm_out", rev[^1]);
        t.Conv2d(prefix + ".conv_out", rev[^1], config.OutChannels, 3);
    }

    public GraphValue Forward(GraphValue z)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue x = nn.Conv2d(z, prefix + ".conv_in");
        x = new UNetMidBlock2D(nn, config, prefix + ".mid_block", attentionNames).Forward(x);
        int blocks = config.BlockOutChannels.Count;
        for (int i = 0; i < blocks; i++)
        {
            x = new UpDecoderBlock2D(nn, config, $"{prefix}.up_blocks.{i}", addUpsample: i < blocks - 1).Forward(x);
        }
        x = nn.Silu(nn.GroupNorm(x, prefix + ".conv_norm_out", config.NormNumGroups, AutoencoderKlConfig.NormEps));
        return nn.Conv2d(x, prefix + ".conv_out");
    }
}

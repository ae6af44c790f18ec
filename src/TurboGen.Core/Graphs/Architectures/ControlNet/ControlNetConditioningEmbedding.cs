namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// diffusers <c>ControlNetConditioningEmbedding</c> (prefix <c>controlnet_cond_embedding</c>): the control image [B,C,H,W] →
/// <c>conv_in</c> (3×3) → SiLU, then per stage i a 3×3 conv at width i and a stride-2 3×3 conv to width i+1 (SiLU after each,
/// <c>blocks.2i</c> and <c>blocks.2i+1</c>), then <c>conv_out</c> (3×3, zero-initialised in training) to the UNet's first width:
/// [B, block_out_channels[0], H/8, W/8] for the published three stride-2 stages.
/// </summary>
internal sealed class ControlNetConditioningEmbedding(Nn nn, ControlNetConfig config, string prefix = "controlnet_cond_embedding")
{
    /// <summary>The embedding's convolutions (3×3, with bias): conv_in, blocks.0 … blocks.2n−1, conv_out.</summary>
    public static void Declare(TensorLayout t, ControlNetConfig config, string prefix = "controlnet_cond_embedding")
    {
        var widths = config.ConditioningEmbeddingOutChannels;
        t.Conv2d(prefix + ".conv_in", config.ConditioningChannels, widths[0], 3);
        for (int i = 0; i < widths.Count - 1; i++)
        {
            t.Conv2d($"{prefix}.blocks.{2 * i}", widths[i], widths[i], 3);
            t.Conv2d($"{prefix}.blocks.{2 * i + 1}", widths[i], widths[i + 1], 3);
        }
        t.Conv2d(prefix + ".conv_out", widths[^1], config.Unet.BlockOutChannels[0], 3);
    }

    public GraphValue Forward(GraphValue cond)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue x = nn.Silu(nn.Conv2d(cond, prefix + ".conv_in"));
        for (int i = 0; i < config.ConditioningEmbeddingOutChannels.Count - 1; i++)
        {
            x = nn.Silu(nn.Conv2d(x, $"{prefix}.blocks.{2 * i}"));
            x = nn.Silu(nn.Conv2d(x, $"{prefix}.blocks.{2 * i + 1}", stride: 2));
        }
        return nn.Conv2d(x, prefix + ".conv_out");
    }
}

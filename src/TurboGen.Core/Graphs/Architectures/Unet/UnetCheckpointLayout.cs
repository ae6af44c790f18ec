using TurboGen.Tensors;

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// The name and shape of every tensor a diffusers <c>UNet2DConditionModel</c> checkpoint holds for a given
/// <see cref="UnetConfig"/> (diffusers key naming, in module order). <see cref="Unet2DConditionModel.Build"/> checks a
/// checkpoint against it before building, so every missing key and wrong shape is reported at once; tests use it to
/// generate random checkpoints of the real model sizes.
/// </summary>
public static class UnetCheckpointLayout
{
    /// <summary>All (key, shape) pairs of the checkpoint for <paramref name="config"/>.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(UnetConfig config) => Layout(config).Tensors;

    /// <summary>The checkpoint for <paramref name="config"/> as a <see cref="TensorLayout"/> (what the build checks a checkpoint against).</summary>
    internal static TensorLayout Layout(UnetConfig config)
    {
        var t = new TensorLayout();
        int c0 = config.BlockOutChannels[0];
        int temb = config.TimeEmbedDim;

        t.Conv2d("conv_in", config.InChannels, c0, config.ConvInKernel);
        if (config.TimeCondProjDim is int condDim)
        {
            t.Linear("time_embedding.cond_proj", condDim, c0, bias: false);
        }
        t.Linear("time_embedding.linear_1", c0, temb);
        t.Linear("time_embedding.linear_2", temb, temb);
        if (config.HasTextTimeEmbedding)
        {
            t.Linear("add_embedding.linear_1", config.ProjectionClassEmbeddingsInputDim!.Value, temb);
            t.Linear("add_embedding.linear_2", temb, temb);
        }

        foreach (var block in config.DownBlocks())
        {
            for (int j = 0; j < block.Layers; j++)
            {
                Resnet(t, $"{block.Prefix}.resnets.{j}", j == 0 ? block.InChannels : block.OutChannels, block.OutChannels, temb);
                if (block.HasCrossAttention)
                {
                    Transformer(t, $"{block.Prefix}.attentions.{j}", block.OutChannels, block.TransformerLayers, block.CrossAttentionDim, config.UseLinearProjection, block.OnlyCrossAttention);
                }
            }
            if (block.HasSampler)
            {
                t.Conv2d($"{block.Prefix}.downsamplers.0.conv", block.OutChannels, block.OutChannels, 3);
            }
        }

        if (config.MidBlock() is { } mid)
        {
            Resnet(t, "mid_block.resnets.0", mid.InChannels, mid.OutChannels, temb);
            for (int j = 0; j < mid.Layers; j++)
            {
                Transformer(t, $"mid_block.attentions.{j}", mid.OutChannels, mid.TransformerLayers, mid.CrossAttentionDim, config.UseLinearProjection);
                Resnet(t, $"mid_block.resnets.{j + 1}", mid.OutChannels, mid.OutChannels, temb);
            }
        }

        foreach (var block in config.UpBlocks())
        {
            for (int j = 0; j < block.Layers; j++)
            {
                int skip = j == block.Layers - 1 ? block.InChannels : block.OutChannels;
                int below = j == 0 ? block.PrevOutChannels : block.OutChannels;
                Resnet(t, $"{block.Prefix}.resnets.{j}", below + skip, block.OutChannels, temb);
                if (block.HasCrossAttention)
                {
                    Transformer(t, $"{block.Prefix}.attentions.{j}", block.OutChannels, block.TransformerLayers, block.CrossAttentionDim, config.UseLinearProjection, block.OnlyCrossAttention);
                }
            }
            if (block.HasSampler)
            {
                t.Conv2d($"{block.Prefix}.upsamplers.0.conv", block.OutChannels, block.OutChannels, 3);
            }
        }

        t.Norm("conv_norm_out", c0);
        t.Conv2d("conv_out", c0, config.OutChannels, config.ConvOutKernel);
        return t;
    }

    /// <summary>Total number of parameters (elements) of the checkpoint for <paramref name="config"/>.</summary>
    public static long ParameterCount(UnetConfig config) => Tensors(config).Sum(x => TensorShape.ElementCount(x.Shape));

    private static void Resnet(TensorLayout t, string prefix, int inChannels, int outChannels, int temb)
    {
        t.Norm(prefix + ".norm1", inChannels);
        t.Conv2d(prefix + ".conv1", inChannels, outChannels, 3);
        t.Linear(prefix + ".time_emb_proj", temb, outChannels);
        t.Norm(prefix + ".norm2", outChannels);
        t.Conv2d(prefix + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels)
        {
            t.Conv2d(prefix + ".conv_shortcut", inChannels, outChannels, 1);
        }
    }

    private static void Transformer(TensorLayout t, string prefix, int channels, int layers, int crossDim, bool linearProjection, bool onlyCrossAttention = false)
    {
        t.Norm(prefix + ".norm", channels);
        if (linearProjection) t.Linear(prefix + ".proj_in", channels, channels);
        else t.Conv2d(prefix + ".proj_in", channels, channels, 1);
        for (int k = 0; k < layers; k++)
        {
            string b = $"{prefix}.transformer_blocks.{k}";
            t.Norm(b + ".norm1", channels);
            Attention(t, b + ".attn1", channels, onlyCrossAttention ? crossDim : channels);   // only_cross_attention: attn1 reads the text context
            t.Norm(b + ".norm2", channels);
            Attention(t, b + ".attn2", channels, crossDim);
            t.Norm(b + ".norm3", channels);
            t.Linear(b + ".ff.net.0.proj", channels, 8 * channels);   // GEGLU: value and gate halves of 4·C each
            t.Linear(b + ".ff.net.2", 4 * channels, channels);
        }
        if (linearProjection) t.Linear(prefix + ".proj_out", channels, channels);
        else t.Conv2d(prefix + ".proj_out", channels, channels, 1);
    }

    private static void Attention(TensorLayout t, string prefix, int channels, int contextChannels)
    {
        t.Linear(prefix + ".to_q", channels, channels, bias: false);
        t.Linear(prefix + ".to_k", contextChannels, channels, bias: false);
        t.Linear(prefix + ".to_v", contextChannels, channels, bias: false);
        t.Linear(prefix + ".to_out.0", channels, channels);
    }
}

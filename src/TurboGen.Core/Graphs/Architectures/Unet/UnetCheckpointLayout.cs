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
    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(UnetConfig config)
    {
        var t = new List<(string, long[])>();
        int c0 = config.BlockOutChannels[0];
        int temb = config.TimeEmbedDim;

        Conv(t, "conv_in", config.InChannels, c0, config.ConvInKernel);
        Linear(t, "time_embedding.linear_1", c0, temb);
        Linear(t, "time_embedding.linear_2", temb, temb);
        if (config.HasTextTimeEmbedding)
        {
            Linear(t, "add_embedding.linear_1", config.ProjectionClassEmbeddingsInputDim!.Value, temb);
            Linear(t, "add_embedding.linear_2", temb, temb);
        }

        foreach (var block in config.DownBlocks())
        {
            for (int j = 0; j < block.Layers; j++)
            {
                Resnet(t, $"{block.Prefix}.resnets.{j}", j == 0 ? block.InChannels : block.OutChannels, block.OutChannels, temb);
                if (block.HasCrossAttention)
                {
                    Transformer(t, $"{block.Prefix}.attentions.{j}", block.OutChannels, block.TransformerLayers, block.CrossAttentionDim, config.UseLinearProjection);
                }
            }
            if (block.HasSampler)
            {
                Conv(t, $"{block.Prefix}.downsamplers.0.conv", block.OutChannels, block.OutChannels, 3);
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
                    Transformer(t, $"{block.Prefix}.attentions.{j}", block.OutChannels, block.TransformerLayers, block.CrossAttentionDim, config.UseLinearProjection);
                }
            }
            if (block.HasSampler)
            {
                Conv(t, $"{block.Prefix}.upsamplers.0.conv", block.OutChannels, block.OutChannels, 3);
            }
        }

        Norm(t, "conv_norm_out", c0);
        Conv(t, "conv_out", c0, config.OutChannels, config.ConvOutKernel);
        return t;
    }

    /// <summary>Total number of parameters (elements) of the checkpoint for <paramref name="config"/>.</summary>
    public static long ParameterCount(UnetConfig config) => Tensors(config).Sum(x => TensorShape.ElementCount(x.Shape));

    private static void Linear(List<(string, long[])> t, string prefix, int inFeatures, int outFeatures, bool bias = true)
    {
        t.Add((prefix + ".weight", [outFeatures, inFeatures]));
        if (bias) t.Add((prefix + ".bias", [outFeatures]));
    }

    private static void Conv(List<(string, long[])> t, string prefix, int inChannels, int outChannels, int kernel)
    {
        t.Add((prefix + ".weight", [outChannels, inChannels, kernel, kernel]));
        t.Add((prefix + ".bias", [outChannels]));
    }

    private static void Norm(List<(string, long[])> t, string prefix, int channels)
    {
        t.Add((prefix + ".weight", [channels]));
        t.Add((prefix + ".bias", [channels]));
    }

    private static void Resnet(List<(string, long[])> t, string prefix, int inChannels, int outChannels, int temb)
    {
        Norm(t, prefix + ".norm1", inChannels);
        Conv(t, prefix + ".conv1", inChannels, outChannels, 3);
        Linear(t, prefix + ".time_emb_proj", temb, outChannels);
        Norm(t, prefix + ".norm2", outChannels);
        Conv(t, prefix + ".conv2", outChannels, outChannels, 3);
        if (inChannels != outChannels)
        {
            Conv(t, prefix + ".conv_shortcut", inChannels, outChannels, 1);
        }
    }

    private static void Transformer(List<(string, long[])> t, string prefix, int channels, int layers, int crossDim, bool linearProjection)
    {
        Norm(t, prefix + ".norm", channels);
        if (linearProjection) Linear(t, prefix + ".proj_in", channels, channels);
        else Conv(t, prefix + ".proj_in", channels, channels, 1);
        for (int k = 0; k < layers; k++)
        {
            string b = $"{prefix}.transformer_blocks.{k}";
            Norm(t, b + ".norm1", channels);
            Attention(t, b + ".attn1", channels, channels);
            Norm(t, b + ".norm2", channels);
            Attention(t, b + ".attn2", channels, crossDim);
            Norm(t, b + ".norm3", channels);
            Linear(t, b + ".ff.net.0.proj", channels, 8 * channels);   // GEGLU: value and gate halves of 4·C each
            Linear(t, b + ".ff.net.2", 4 * channels, channels);
        }
        if (linearProjection) Linear(t, prefix + ".proj_out", channels, channels);
        else Conv(t, prefix + ".proj_out", channels, channels, 1);
    }

    private static void Attention(List<(string, long[])> t, string prefix, int channels, int contextChannels)
    {
        Linear(t, prefix + ".to_q", channels, channels, bias: false);
        Linear(t, prefix + ".to_k", contextChannels, channels, bias: false);
        Linear(t, prefix + ".to_v", contextChannels, channels, bias: false);
        Linear(t, prefix + ".to_out.0", channels, channels);
    }
}

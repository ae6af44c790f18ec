using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Tensors;

namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// The name and shape of every tensor of a diffusers <c>ControlNetModel</c> checkpoint for a <see cref="ControlNetConfig"/>:
/// the UNet's encoder tensors (<see cref="UnetCheckpointLayout"/> without the up blocks and the output layers), the
/// conditioning embedding and the zero convolutions. <see cref="ControlNetModel.Build"/> checks a checkpoint against it.
/// </summary>
public static class ControlNetCheckpointLayout
{
    /// <summary>All (key, shape) pairs of the checkpoint for <paramref name="config"/>.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(ControlNetConfig config)
    {
        var t = UnetCheckpointLayout.Tensors(config.Unet)
            .Where(x => !x.Name.StartsWith("up_blocks.", StringComparison.Ordinal)
                && !x.Name.StartsWith("conv_norm_out.", StringComparison.Ordinal)
                && !x.Name.StartsWith("conv_out.", StringComparison.Ordinal))
            .ToList();

        var widths = config.ConditioningEmbeddingOutChannels;
        const string e = "controlnet_cond_embedding";
        Conv(t, $"{e}.conv_in", config.ConditioningChannels, widths[0], 3);
        for (int i = 0; i < widths.Count - 1; i++)
        {
            Conv(t, $"{e}.blocks.{2 * i}", widths[i], widths[i], 3);
            Conv(t, $"{e}.blocks.{2 * i + 1}", widths[i], widths[i + 1], 3);
        }
        Conv(t, $"{e}.conv_out", widths[^1], config.Unet.BlockOutChannels[0], 3);

        var skips = config.Unet.SkipChannels();
        for (int i = 0; i < skips.Count; i++)
        {
            Conv(t, $"{ControlNetZeroConvs.DownPrefix}.{i}", skips[i], skips[i], 1);
        }
        int deepest = config.Unet.BlockOutChannels[^1];
        Conv(t, ControlNetZeroConvs.MidPrefix, deepest, deepest, 1);
        return t;
    }

    /// <summary>The checkpoint's tensors as a <see cref="TensorLayout"/>, for the shared check before and after building.</summary>
    internal static TensorLayout Layout(ControlNetConfig config)
    {
        var layout = new TensorLayout();
        foreach (var (name, shape) in Tensors(config)) layout.Add(name, shape);
        return layout;
    }

    /// <summary>Total number of parameters (elements) of the checkpoint for <paramref name="config"/>.</summary>
    public static long ParameterCount(ControlNetConfig config) => Tensors(config).Sum(x => TensorShape.ElementCount(x.Shape));

    private static void Conv(List<(string, long[])> t, string prefix, int inChannels, int outChannels, int kernel)
    {
        t.Add((prefix + ".weight", [outChannels, inChannels, kernel, kernel]));
        t.Add((prefix + ".bias", [outChannels]));
    }
}

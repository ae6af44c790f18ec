namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>diffusers <c>Downsample2D</c> with a convolution: 3×3 conv, stride 2 (padding 1, or 0 with one extra row/column at the bottom/right as diffusers pads).</summary>
internal sealed class Downsample2D(Nn nn, string prefix, int padding)
{
    /// <summary>The sampler's 3×3 <c>conv</c>.</summary>
    public static void Declare(TensorLayout t, string prefix, long channels) => t.Conv2d(prefix + ".conv", channels, channels, 3);

    public GraphValue Forward(GraphValue x)
    {
        using var _ = nn.ModuleScope(prefix);
        return padding == 0
            ? nn.Conv2d(x, prefix + ".conv", stride: 2, pads: [0, 0, 1, 1])
            : nn.Conv2d(x, prefix + ".conv", stride: 2, padding: padding);
    }
}

/// <summary>
/// diffusers <c>Upsample2D</c> with a convolution: nearest-neighbour upsampling, then a 3×3 conv. The output takes the
/// spatial size of the skip connection it will be joined with (×2 when the latent size is a multiple of the total
/// down-sampling factor; otherwise the size diffusers forwards as <c>upsample_size</c>).
/// </summary>
internal sealed class Upsample2D(Nn nn, string prefix)
{
    /// <summary>The sampler's 3×3 <c>conv</c>.</summary>
    public static void Declare(TensorLayout t, string prefix, long channels) => t.Conv2d(prefix + ".conv", channels, channels, 3);

    public GraphValue Forward(GraphValue x, GraphValue sizeLike)
    {
        using var _ = nn.ModuleScope(prefix);
        GraphValue up = nn.UpsampleNearestTo(x, sizeLike);
        return nn.Conv2d(up, prefix + ".conv");
    }
}

using TurboGen.Tensors;

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// The name and shape of every tensor a diffusers <c>UNet2DConditionModel</c> checkpoint holds for a given
/// <see cref="UnetConfig"/> (diffusers key naming, in module order), as the build declares them: each block's
/// <c>Declare</c> sits next to its <c>Forward</c>, and the build checks every tensor it reads against the same list
/// (<see cref="Nn.Declared"/>). Used to check whole checkpoints before building, to map single-file names and to
/// generate random checkpoints of the real model sizes.
/// </summary>
public static class UnetCheckpointLayout
{
    /// <summary>All (key, shape) pairs of the checkpoint for <paramref name="config"/>.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(UnetConfig config) => Unet2DConditionModel.Declare(config).Tensors;

    /// <summary>Total number of parameters (elements) of the checkpoint for <paramref name="config"/>.</summary>
    public static long ParameterCount(UnetConfig config) => Tensors(config).Sum(x => TensorShape.ElementCount(x.Shape));
}

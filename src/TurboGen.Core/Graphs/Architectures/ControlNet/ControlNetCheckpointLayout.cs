using TurboGen.Tensors;

namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// The name and shape of every tensor of a diffusers <c>ControlNetModel</c> checkpoint for a <see cref="ControlNetConfig"/>,
/// as the build declares them (the UNet's encoder blocks, the conditioning embedding and the zero convolutions, each declared
/// next to its <c>Forward</c>); <see cref="ControlNetModel.Build"/> checks a checkpoint against the same list.
/// </summary>
public static class ControlNetCheckpointLayout
{
    /// <summary>All (key, shape) pairs of the checkpoint for <paramref name="config"/>.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Tensors(ControlNetConfig config) => ControlNetModel.Declare(config).Tensors;

    /// <summary>Total number of parameters (elements) of the checkpoint for <paramref name="config"/>.</summary>
    public static long ParameterCount(ControlNetConfig config) => Tensors(config).Sum(x => TensorShape.ElementCount(x.Shape));
}

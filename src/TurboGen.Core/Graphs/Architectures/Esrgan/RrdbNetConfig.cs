using System.Globalization;
using System.Text.RegularExpressions;
using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Esrgan;

/// <summary>
/// The hyper-parameters of a BasicSR <c>RRDBNet</c> (the ESRGAN / Real-ESRGAN generator). Checkpoints carry no config, so
/// <see cref="Infer"/> reads them from the tensor shapes: <c>num_feat</c> = rows of <c>conv_first.weight</c>,
/// <c>num_grow_ch</c> = rows of <c>body.0.rdb1.conv1.weight</c>, <c>num_block</c> = the number of <c>body.N</c> blocks,
/// <c>num_out_ch</c> = rows of <c>conv_last.weight</c>, and the scale from the input channels of <c>conv_first</c>: the net
/// always upsamples ×4 inside, and reaches ×2 / ×1 by a pixel-unshuffle of its input by 2 / 4 (so <c>conv_first</c> takes
/// num_in_ch·4 or ·16 channels). num_in_ch is taken equal to num_out_ch (every published RRDBNet is RGB → RGB).
/// </summary>
public sealed partial record RrdbNetConfig(int NumInChannels, int NumOutChannels, int Scale, int NumFeat, int NumBlock, int NumGrowChannels)
{
    /// <summary>Real-ESRGAN's RealESRGAN_x4plus: 64 features, 23 blocks, growth 32.</summary>
    public static RrdbNetConfig RealEsrganX4Plus { get; } = new(3, 3, 4, 64, 23, 32);

    /// <summary>Pixel-unshuffle factor of the input: 1 for ×4, 2 for ×2, 4 for ×1.</summary>
    public int UnshuffleFactor => 4 / Scale;

    /// <summary>Input sides must be a multiple of this (the pixel-unshuffle factor).</summary>
    public int InputMultiple => UnshuffleFactor;

    /// <summary>The parameter count of the network.</summary>
    public long ParameterCount => RrdbNet.ExpectedTensors(this).Values.Sum(Tensors.TensorShape.ElementCount);

    /// <summary>Reads the architecture from the checkpoint's shapes (see the type); names the missing tensor or the odd shape.</summary>
    public static RrdbNetConfig Infer(ICheckpointTensors weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        long[] first = Require(weights, "conv_first.weight", 4);
        long[] last = Require(weights, "conv_last.weight", 4);
        long[] grow = Require(weights, "body.0.rdb1.conv1.weight", 4);
        int outCh = (int)last[0];
        int numFeat = (int)first[0];
        long inCh = first[1];
        if (outCh <= 0 || inCh % outCh != 0)
        {
            throw new ModelLoadException(weights.Source,
                $"{weights.Source}: conv_first.weight takes {inCh} channels and conv_last.weight gives {outCh}; an RRDBNet takes num_out_ch·(1, 4 or 16) channels.");
        }
        int scale = (inCh / outCh) switch
        {
            1 => 4,
            4 => 2,
            16 => 1,
            _ => throw new ModelLoadException(weights.Source,
                $"{weights.Source}: conv_first.weight takes {inCh} channels for {outCh} output channels; only scales 4 (×1), 2 (×4, pixel-unshuffle 2) and 1 (×16) exist."),
        };
        int blocks = 0;
        foreach (string name in weights.Names)
        {
            var m = BodyIndex().Match(name);
            if (m.Success) blocks = Math.Max(blocks, int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture) + 1);
        }
        var config = new RrdbNetConfig(outCh, outCh, scale, numFeat, blocks, (int)grow[0]);
        config.Validate(weights.Source);
        return config;
    }

    /// <summary>Checks the values are positive.</summary>
    public void Validate(string source)
    {
        if (NumInChannels <= 0 || NumOutChannels <= 0 || NumFeat <= 0 || NumBlock <= 0 || NumGrowChannels <= 0 || Scale is not (1 or 2 or 4))
        {
            throw new ModelLoadException(source, $"{source}: not a valid RRDBNet ({this}).");
        }
    }

    private static long[] Require(ICheckpointTensors weights, string name, int rank)
    {
        if (!weights.Contains(name))
        {
            throw new ModelLoadException(weights.Source,
                $"{weights.Source} is not an ESRGAN (RRDBNet) checkpoint with Real-ESRGAN key names: tensor '{name}' is missing.");
        }
        long[] shape = weights.Shape(name);
        return shape.Length == rank ? shape
            : throw new ModelLoadException(weights.Source, $"{weights.Source}: tensor '{name}' has shape [{string.Join(",", shape)}], expected rank {rank}.");
    }

    [GeneratedRegex(@"^body\.(\d+)\.")]
    private static partial Regex BodyIndex();
}

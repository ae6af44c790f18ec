using TurboGen.Checkpoints;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Weights;

namespace TurboGen.Building;

/// <summary>
/// The key and shape check of every component of a checkpoint, before any graph is built or any weight written: each
/// architecture's expected (name, shape) list (<see cref="ClipTextModel.ExpectedTensors"/>, <see cref="UnetCheckpointLayout.Tensors"/>,
/// <see cref="AutoencoderKl.ExpectedTensors"/>) is compared with the checkpoint's header, and every missing key, wrong shape and
/// unused key of every component is listed in one <see cref="ModelLoadException"/> naming the file. Reading shapes touches
/// only the safetensors headers, so a mismatched 7 GB file fails in well under a second instead of after the text encoders and
/// the UNet were written. The architectures repeat their own checks while building (the same rules), so nothing relies on this
/// running first.
/// </summary>
public static class CheckpointPreflight
{
    /// <summary>Throws when any component of <paramref name="c"/> does not match its config.</summary>
    public static void Check(CheckpointComponents c, ClipTextConfig textEncoder, ClipTextConfig? textEncoder2, UnetConfig unet, AutoencoderKlConfig vae)
    {
        ArgumentNullException.ThrowIfNull(c);
        var problems = new List<string>();
        Compare("text_encoder", c.TextEncoder, ClipTextModel.ExpectedTensors(textEncoder, withProjection: false), ClipTextModel.KnownUnusedKeys, problems);
        if (textEncoder2 is not null && c.TextEncoder2 is not null)
        {
            Compare("text_encoder_2", c.TextEncoder2, ClipTextModel.ExpectedTensors(textEncoder2, withProjection: true), ClipTextModel.KnownUnusedKeys, problems);
        }
        Compare("unet", c.Unet, UnetCheckpointLayout.Tensors(unet), [], problems);
        bool legacy = AutoencoderKl.UsesLegacyAttentionNames(c.Vae);
        var vaeTensors = AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Encoder, legacy)
            .Concat(AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Decoder, legacy))
            .Select(kv => (kv.Key, kv.Value)).ToList();
        Compare("vae", c.Vae, vaeTensors, [], problems);
        if (problems.Count > 0)
        {
            throw new ModelLoadException(c.Source,
                $"Checkpoint {c.Source} does not match its configs (checked before building): {string.Join(" ", problems)}");
        }
    }

    private static void Compare(string component, ICheckpointTensors weights, IEnumerable<(string Name, long[] Shape)> expected,
        IReadOnlyList<string> ignored, List<string> problems)
    {
        var layout = new TensorLayout();
        foreach (var (name, shape) in expected) layout.Add(name, shape);
        var found = layout.Compare(weights, unusedIgnored: ignored.Contains);
        if (!found.IsEmpty)
        {
            problems.Add($"{component} ({weights.Source}): {found}");
        }
    }
}

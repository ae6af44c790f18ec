using System.Text.RegularExpressions;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>Where each diffusers AutoencoderKL tensor lives in an ldm single file (<c>first_stage_model.</c>; the rules in <see cref="SingleFileLayout"/>'s remarks).</summary>
internal static partial class SingleFileVaeNames
{
    /// <summary>One mapping per tensor of the encoder and decoder of <paramref name="config"/>, with its diffusers shape.</summary>
    public static List<(TensorMapping Mapping, long[] Shape)> Mappings(AutoencoderKlConfig config)
    {
        int blocks = config.BlockOutChannels.Count;
        var expected = AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Encoder)
            .Concat(AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Decoder));
        var list = new List<(TensorMapping, long[])>();
        foreach (var (name, shape) in expected)
        {
            var (source, transform) = VaeSource(name, blocks);
            list.Add((new TensorMapping(name, SingleFileLayout.VaePrefix + source, transform), shape));
        }
        return list;
    }

    private static readonly Dictionary<string, string> VaeAttentionModules = new(StringComparer.Ordinal)
    {
        ["group_norm"] = "norm",
        ["to_q"] = "q",
        ["to_k"] = "k",
        ["to_v"] = "v",
        ["to_out.0"] = "proj_out",
    };

    private static (string Source, TensorTransform Transform) VaeSource(string key, int blocks)
    {
        var m = VaeResnetPattern().Match(key);
        if (m.Success)
        {
            string part = m.Groups[1].Value;
            int block = int.Parse(m.Groups[3].Value);
            string ldmBlock = part == "encoder" ? $"down.{block}" : $"up.{blocks - 1 - block}";
            string param = m.Groups[5].Value.Replace("conv_shortcut.", "nin_shortcut.", StringComparison.Ordinal);
            return ($"{part}.{ldmBlock}.block.{m.Groups[4].Value}.{param}", TensorTransform.None);
        }
        m = VaeSamplerPattern().Match(key);
        if (m.Success)
        {
            int block = int.Parse(m.Groups[2].Value);
            return m.Groups[1].Value == "encoder"
                ? ($"encoder.down.{block}.downsample.conv.{m.Groups[3].Value}", TensorTransform.None)
                : ($"decoder.up.{blocks - 1 - block}.upsample.conv.{m.Groups[3].Value}", TensorTransform.None);
        }
        m = VaeMidResnetPattern().Match(key);
        if (m.Success)
        {
            string param = m.Groups[3].Value.Replace("conv_shortcut.", "nin_shortcut.", StringComparison.Ordinal);
            return ($"{m.Groups[1].Value}.mid.block_{int.Parse(m.Groups[2].Value) + 1}.{param}", TensorTransform.None);
        }
        m = VaeAttentionPattern().Match(key);
        if (m.Success)
        {
            string module = VaeAttentionModules[m.Groups[2].Value];
            bool convWeight = module != "norm" && m.Groups[3].Value == "weight";
            return ($"{m.Groups[1].Value}.mid.attn_1.{module}.{m.Groups[3].Value}", convWeight ? TensorTransform.ConvToLinear : TensorTransform.None);
        }
        m = VaeNormOutPattern().Match(key);
        if (m.Success)
        {
            return ($"{m.Groups[1].Value}.norm_out.{m.Groups[2].Value}", TensorTransform.None);
        }
        // conv_in, conv_out, quant_conv, post_quant_conv keep their names.
        return (key, TensorTransform.None);
    }

    [GeneratedRegex(@"^(encoder|decoder)\.(down_blocks|up_blocks)\.(\d+)\.resnets\.(\d+)\.(.+)$")]
    private static partial Regex VaeResnetPattern();

    [GeneratedRegex(@"^(encoder|decoder)\.(?:down_blocks|up_blocks)\.(\d+)\.(?:downsamplers|upsamplers)\.0\.conv\.(weight|bias)$")]
    private static partial Regex VaeSamplerPattern();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)$")]
    private static partial Regex VaeMidResnetPattern();

    [GeneratedRegex(@"^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$")]
    private static partial Regex VaeAttentionPattern();

    [GeneratedRegex(@"^(encoder|decoder)\.conv_norm_out\.(weight|bias)$")]
    private static partial Regex VaeNormOutPattern();
}

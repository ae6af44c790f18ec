using System.Text.RegularExpressions;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>Where each diffusers UNet tensor lives in an ldm/sgm single file (<c>model.diffusion_model.</c>; the rules in <see cref="SingleFileLayout"/>'s remarks).</summary>
internal static partial class SingleFileUnetNames
{
    /// <summary>One mapping per tensor of the UNet of <paramref name="config"/>, with its diffusers shape (source keys under <paramref name="prefix"/>).</summary>
    public static List<(TensorMapping Mapping, long[] Shape)> Mappings(UnetConfig config, string prefix = SingleFileLayout.UnetPrefix) =>
        Mappings(config, UnetCheckpointLayout.Tensors(config), prefix);

    /// <summary>One mapping per tensor of <paramref name="tensors"/> (diffusers UNet names of <paramref name="config"/>), source keys under <paramref name="prefix"/>.</summary>
    public static List<(TensorMapping Mapping, long[] Shape)> Mappings(UnetConfig config, IEnumerable<(string Name, long[] Shape)> tensors, string prefix)
    {
        var down = config.DownBlocks();
        var up = config.UpBlocks();
        // input_blocks.0 is conv_in; then each down block's resnet(+transformer) layers, then its downsampler.
        var firstInput = new int[down.Count];
        int k = 1;
        for (int b = 0; b < down.Count; b++)
        {
            firstInput[b] = k;
            k += down[b].Layers + (down[b].HasSampler ? 1 : 0);
        }
        // output_blocks count every up layer; the upsampler rides on the block's last layer.
        var firstOutput = new int[up.Count];
        k = 0;
        for (int b = 0; b < up.Count; b++)
        {
            firstOutput[b] = k;
            k += up[b].Layers;
        }

        string Source(string key)
        {
            if (UnetTopLevel.TryGetValue(ModuleOf(key, out string param), out string? top)) return $"{top}.{param}";
            var m = DownUpLayerPattern().Match(key);
            if (m.Success)
            {
                int block = int.Parse(m.Groups[2].Value), layer = int.Parse(m.Groups[4].Value);
                bool isDown = m.Groups[1].Value == "down_blocks";
                int index = (isDown ? firstInput[block] : firstOutput[block]) + layer;
                string ldm = isDown ? "input_blocks" : "output_blocks";
                return m.Groups[3].Value == "resnets"
                    ? $"{ldm}.{index}.0.{ResnetParam(m.Groups[5].Value)}"
                    : $"{ldm}.{index}.1.{m.Groups[5].Value}";
            }
            m = DownsamplerPattern().Match(key);
            if (m.Success)
            {
                int block = int.Parse(m.Groups[1].Value);
                return $"input_blocks.{firstInput[block] + down[block].Layers}.0.op.{m.Groups[2].Value}";
            }
            m = UpsamplerPattern().Match(key);
            if (m.Success)
            {
                int block = int.Parse(m.Groups[1].Value);
                int slot = up[block].HasCrossAttention ? 2 : 1;
                return $"output_blocks.{firstOutput[block] + up[block].Layers - 1}.{slot}.conv.{m.Groups[2].Value}";
            }
            m = MidPattern().Match(key);
            if (m.Success)
            {
                int index = int.Parse(m.Groups[2].Value);
                return m.Groups[1].Value == "resnets"
                    ? $"middle_block.{2 * index}.{ResnetParam(m.Groups[3].Value)}"
                    : $"middle_block.{2 * index + 1}.{m.Groups[3].Value}";
            }
            throw new InvalidOperationException($"No single-file rule for UNet key '{key}'.");
        }

        return tensors
            .Select(t => (new TensorMapping(t.Name, prefix + Source(t.Name)), t.Shape))
            .ToList();
    }

    private static readonly Dictionary<string, string> UnetTopLevel = new(StringComparer.Ordinal)
    {
        ["conv_in"] = "input_blocks.0.0",
        ["time_embedding.linear_1"] = "time_embed.0",
        ["time_embedding.linear_2"] = "time_embed.2",
        ["add_embedding.linear_1"] = "label_emb.0.0",
        ["add_embedding.linear_2"] = "label_emb.0.2",
        ["conv_norm_out"] = "out.0",
        ["conv_out"] = "out.2",
    };

    private static readonly Dictionary<string, string> ResnetModules = new(StringComparer.Ordinal)
    {
        ["norm1"] = "in_layers.0",
        ["conv1"] = "in_layers.2",
        ["time_emb_proj"] = "emb_layers.1",
        ["norm2"] = "out_layers.0",
        ["conv2"] = "out_layers.3",
        ["conv_shortcut"] = "skip_connection",
    };

    /// <summary>"norm1.weight" → "in_layers.0.weight" (ldm ResBlock module names).</summary>
    private static string ResnetParam(string rest)
    {
        string module = ModuleOf(rest, out string param);
        return ResnetModules.TryGetValue(module, out string? ldm)
            ? $"{ldm}.{param}"
            : throw new InvalidOperationException($"No single-file rule for resnet parameter '{rest}'.");
    }

    /// <summary>Splits "a.b.weight" into module "a.b" and parameter "weight".</summary>
    private static string ModuleOf(string key, out string param)
    {
        int dot = key.LastIndexOf('.');
        param = key[(dot + 1)..];
        return dot < 0 ? "" : key[..dot];
    }

    [GeneratedRegex(@"^(down_blocks|up_blocks)\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$")]
    private static partial Regex DownUpLayerPattern();

    [GeneratedRegex(@"^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)$")]
    private static partial Regex DownsamplerPattern();

    [GeneratedRegex(@"^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)$")]
    private static partial Regex UpsamplerPattern();

    [GeneratedRegex(@"^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$")]
    private static partial Regex MidPattern();
}

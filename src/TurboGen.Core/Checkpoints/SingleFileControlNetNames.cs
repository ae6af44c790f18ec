using System.Text.Json.Nodes;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>
/// Original (lllyasviel ControlNet / ldm) single-file ControlNets: key names and the config they imply.
/// </summary>
/// <remarks>
/// The rules (the correspondences of diffusers' single-file ControlNet conversion): keys sit under <c>control_model.</c>
/// (or no prefix at all, as in some SD 2.x files); the encoder is named like the ldm UNet (<c>time_embed</c>, <c>label_emb</c>,
/// <c>input_blocks</c>, <c>middle_block</c>, see <see cref="SingleFileLayout"/>); <c>zero_convs.i.0</c> =
/// <c>controlnet_down_blocks.i</c>; <c>middle_block_out.0</c> = <c>controlnet_mid_block</c>; <c>input_hint_block.0</c> =
/// <c>controlnet_cond_embedding.conv_in</c>, <c>input_hint_block.2(k+1)</c> = <c>blocks.k</c> (the odd indices are the SiLUs), and
/// the last conv (<c>input_hint_block.14</c> for the published four stages) = <c>conv_out</c>.
/// The file has no config: it is derived from the tensors — channel widths from the convolutions, cross-attention width from
/// attn2.to_k, linear vs 1×1-conv projections from proj_in, transformer depth per block by counting, SDXL text_time conditioning
/// when <c>label_emb</c> is present, attention heads as SD 1.x (8 per block) or, with linear projections, 64 channels per head (SD 2.x, SDXL).
/// </remarks>
public static class SingleFileControlNetNames
{
    /// <summary>The key prefix of an original ControlNet single file: <c>control_model.</c> (some SD 2.x files have none).</summary>
    public const string Prefix = "control_model.";

    /// <summary>The key prefix of the ControlNet in <paramref name="file"/> and the diffusers config.json its tensors imply.</summary>
    public static (string Prefix, string ConfigJson) Detect(ICheckpointTensors file, string path)
    {
        string prefix = file.Contains(Prefix + "time_embed.0.weight") ? Prefix
            : file.Contains("time_embed.0.weight") && file.Contains("input_hint_block.0.weight") ? ""
            : throw new ModelLoadException(path, $"{path} is not an original ControlNet single file: it has no '{Prefix}time_embed.0.weight' / 'input_hint_block.0.weight' tensors.");
        long[] Shape(string key) => file.Contains(prefix + key) ? file.Shape(prefix + key)
            : throw new ModelLoadException(path, $"ControlNet {path} lacks tensor '{prefix + key}'.");

        // Conditioning embedding: conv_in, then pairs of convs, then conv_out.
        var embedding = new List<int> { (int)Shape("input_hint_block.0.weight")[0] };
        int hint = 2;
        while (file.Contains($"{prefix}input_hint_block.{hint + 2}.weight"))
        {
            embedding.Add((int)Shape($"input_hint_block.{hint + 2}.weight")[0]);   // the stride-2 conv of the stage
            hint += 4;
        }
        int conditioningChannels = (int)Shape("input_hint_block.0.weight")[1];

        // Encoder: input_blocks.k (k ≥ 1) = resnet [+ transformer] per layer, then an `.op` downsampler ending each block but the last.
        var blockOut = new List<int>();
        var types = new List<string>();
        var transformerLayers = new List<int>();
        int layers = 0, k = 1;
        bool linear = false;
        int crossDim = 0;
        while (file.Contains($"{prefix}input_blocks.{k}.0.in_layers.0.weight"))
        {
            int layer = 0, depth = 0;
            int width = (int)Shape($"input_blocks.{k}.0.out_layers.3.weight")[0];
            while (file.Contains($"{prefix}input_blocks.{k}.0.in_layers.0.weight"))
            {
                string attn = $"{prefix}input_blocks.{k}.1.";
                if (file.Contains(attn + "proj_in.weight"))
                {
                    linear = file.Shape(attn + "proj_in.weight").Length == 2;
                    crossDim = (int)file.Shape(attn + "transformer_blocks.0.attn2.to_k.weight")[1];
                    depth = 0;
                    while (file.Contains($"{attn}transformer_blocks.{depth}.norm1.weight")) depth++;
                }
                layer++;
                k++;
            }
            blockOut.Add(width);
            types.Add(depth > 0 ? "CrossAttnDownBlock2D" : "DownBlock2D");
            transformerLayers.Add(Math.Max(depth, 1));
            layers = layer;
            if (!file.Contains($"{prefix}input_blocks.{k}.0.op.weight")) break;
            k++;
        }
        if (blockOut.Count == 0 || crossDim == 0)
        {
            throw new ModelLoadException(path, $"ControlNet {path}: no input_blocks with attention found under '{prefix}'; cannot derive its config.");
        }
        int midDepth = 0;
        while (file.Contains($"{prefix}middle_block.1.transformer_blocks.{midDepth}.norm1.weight")) midDepth++;
        transformerLayers[^1] = Math.Max(transformerLayers[^1], midDepth);

        bool sdxl = file.Contains(prefix + "label_emb.0.0.weight");
        var heads = linear ? blockOut.Select(c => Math.Max(1, c / 64)).ToList() : blockOut.Select(_ => 8).ToList();
        var config = new JsonObject
        {
            ["_class_name"] = "ControlNetModel",
            ["in_channels"] = (int)Shape("input_blocks.0.0.weight")[1],
            ["conditioning_channels"] = conditioningChannels,
            ["conditioning_embedding_out_channels"] = new JsonArray(embedding.Select(c => (JsonNode)c).ToArray()),
            ["block_out_channels"] = new JsonArray(blockOut.Select(c => (JsonNode)c).ToArray()),
            ["down_block_types"] = new JsonArray(types.Select(t => (JsonNode)t).ToArray()),
            ["layers_per_block"] = layers,
            ["cross_attention_dim"] = crossDim,
            ["attention_head_dim"] = new JsonArray(heads.Select(h => (JsonNode)h).ToArray()),
            ["transformer_layers_per_block"] = new JsonArray(transformerLayers.Select(t => (JsonNode)t).ToArray()),
            ["use_linear_projection"] = linear,
            ["norm_num_groups"] = 32,
        };
        if (sdxl)
        {
            long[] label = Shape("label_emb.0.0.weight");
            config["addition_embed_type"] = "text_time";
            config["addition_time_embed_dim"] = 256;
            config["projection_class_embeddings_input_dim"] = (int)label[1];
        }
        return (prefix, config.ToJsonString());
    }

    /// <summary>One mapping per diffusers tensor of <paramref name="config"/> to its key under <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<TensorMapping> Mappings(ControlNetConfig config, string prefix)
    {
        var layout = ControlNetCheckpointLayout.Tensors(config);
        var encoder = layout.Where(t => !t.Name.StartsWith("controlnet_", StringComparison.Ordinal));
        var result = SingleFileUnetNames.Mappings(config.Unet, encoder, prefix).Select(m => m.Mapping).ToList();
        int stages = config.ConditioningEmbeddingOutChannels.Count - 1;
        foreach (var (name, _) in layout.Where(t => t.Name.StartsWith("controlnet_", StringComparison.Ordinal)))
        {
            result.Add(new TensorMapping(name, prefix + Source(name, stages)));
        }
        return result;
    }

    private static string Source(string name, int stages)
    {
        int dot = name.LastIndexOf('.');
        string module = name[..dot], param = name[(dot + 1)..];
        const string e = "controlnet_cond_embedding.";
        string source = module switch
        {
            "controlnet_mid_block" => "middle_block_out.0",
            "controlnet_cond_embedding.conv_in" => "input_hint_block.0",
            "controlnet_cond_embedding.conv_out" => $"input_hint_block.{2 * (2 * stages + 1)}",
            _ when module.StartsWith(e + "blocks.", StringComparison.Ordinal) => $"input_hint_block.{2 * (int.Parse(module[(e.Length + "blocks.".Length)..]) + 1)}",
            _ when module.StartsWith("controlnet_down_blocks.", StringComparison.Ordinal) => $"zero_convs.{module["controlnet_down_blocks.".Length..]}.0",
            _ => throw new InvalidOperationException($"No single-file rule for ControlNet key '{name}'."),
        };
        return $"{source}.{param}";
    }
}

using System.Text.Json;

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// The fields of a diffusers <c>UNet2DConditionModel</c> config.json that decide its structure (SD 1.x/2.x, SD-Turbo,
/// SDXL, SDXL-Turbo). Per-block values are already expanded to one entry per down block (index order of
/// <see cref="DownBlockTypes"/>). <see cref="AttentionHeads"/> is the number of heads: diffusers' config calls it
/// <c>attention_head_dim</c> when <c>num_attention_heads</c> is null (a known naming quirk).
/// </summary>
public sealed record UnetConfig(
    int InChannels,
    int OutChannels,
    IReadOnlyList<int> BlockOutChannels,
    IReadOnlyList<int> LayersPerBlock,
    IReadOnlyList<string> DownBlockTypes,
    string? MidBlockType,
    IReadOnlyList<string> UpBlockTypes,
    IReadOnlyList<int> AttentionHeads,
    IReadOnlyList<int> TransformerLayersPerBlock,
    IReadOnlyList<int> ReverseTransformerLayersPerBlock,
    int CrossAttentionDim,
    bool UseLinearProjection,
    int NormNumGroups,
    float NormEps,
    bool FlipSinToCos,
    float FreqShift,
    int TimeEmbedDim,
    string? AdditionEmbedType,
    int? AdditionTimeEmbedDim,
    int? ProjectionClassEmbeddingsInputDim,
    bool CenterInputSample,
    int ConvInKernel,
    int ConvOutKernel,
    int DownsamplePadding,
    float MidBlockScaleFactor,
    int SampleSize)
{
    public const string DownBlock2D = "DownBlock2D";
    public const string CrossAttnDownBlock2D = "CrossAttnDownBlock2D";
    public const string UpBlock2D = "UpBlock2D";
    public const string CrossAttnUpBlock2D = "CrossAttnUpBlock2D";
    public const string MidBlock2DCrossAttn = "UNetMidBlock2DCrossAttn";
    public const string TextTime = "text_time";

    /// <summary>True for SDXL-style conditioning: extra <c>text_embeds</c> and <c>time_ids</c> inputs.</summary>
    public bool HasTextTimeEmbedding => AdditionEmbedType == TextTime;

    /// <summary>The down blocks in order (prefix <c>down_blocks.i</c>), with the channel plan diffusers derives from the config.</summary>
    public IReadOnlyList<UnetBlockSpec> DownBlocks()
    {
        var blocks = new List<UnetBlockSpec>();
        int output = BlockOutChannels[0];
        for (int i = 0; i < DownBlockTypes.Count; i++)
        {
            int input = output;
            output = BlockOutChannels[i];
            bool final = i == BlockOutChannels.Count - 1;
            blocks.Add(new UnetBlockSpec($"down_blocks.{i}", DownBlockTypes[i], input, output, input,
                LayersPerBlock[i], TransformerLayersPerBlock[i], AttentionHeads[i], CrossAttentionDim, HasSampler: !final));
        }
        return blocks;
    }

    /// <summary>The mid block (prefix <c>mid_block</c>): one attention layer between two resnets, at the deepest width; null when the config has none.</summary>
    public UnetBlockSpec? MidBlock()
    {
        if (MidBlockType is null) return null;
        int c = BlockOutChannels[^1];
        return new UnetBlockSpec("mid_block", MidBlockType, c, c, c, 1, TransformerLayersPerBlock[^1], AttentionHeads[^1], CrossAttentionDim, HasSampler: false);
    }

    /// <summary>The up blocks in order (prefix <c>up_blocks.i</c>), deepest first; each has one resnet more than its down block.</summary>
    public IReadOnlyList<UnetBlockSpec> UpBlocks()
    {
        var blocks = new List<UnetBlockSpec>();
        int n = BlockOutChannels.Count;
        int output = BlockOutChannels[n - 1];
        for (int i = 0; i < UpBlockTypes.Count; i++)
        {
            int r = n - 1 - i;   // the matching down block
            int prev = output;
            output = BlockOutChannels[r];
            int input = BlockOutChannels[Math.Max(r - 1, 0)];
            bool final = i == n - 1;
            blocks.Add(new UnetBlockSpec($"up_blocks.{i}", UpBlockTypes[i], input, output, prev,
                LayersPerBlock[r] + 1, ReverseTransformerLayersPerBlock[i], AttentionHeads[r], CrossAttentionDim, HasSampler: !final));
        }
        return blocks;
    }

    /// <summary>Parses a diffusers UNet2DConditionModel config.json, rejecting options this builder does not implement with a clear message.</summary>
    /// <param name="json">The config text.</param>
    /// <param name="source">Where it came from, for error messages.</param>
    public static UnetConfig FromJson(string json, string source = "unet/config.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, $"UNet config {source} is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            return new Reader(doc.RootElement, source).Read();
        }
    }

    /// <summary>Reads config fields with diffusers' defaults, expanding "int or per-block list" fields.</summary>
    private sealed class Reader(JsonElement root, string source)
    {
        public UnetConfig Read()
        {
            if (root.ValueKind != JsonValueKind.Object) throw Bad("the top level is not a JSON object");
            var blockOut = IntList("block_out_channels", null) ?? throw Bad("block_out_channels is missing");
            int n = blockOut.Count;
            if (n == 0) throw Bad("block_out_channels is empty");
            var down = StringList("down_block_types") ?? throw Bad("down_block_types is missing");
            var up = StringList("up_block_types") ?? throw Bad("up_block_types is missing");
            if (down.Count != n || up.Count != n)
            {
                throw Bad($"down_block_types ({down.Count}) and up_block_types ({up.Count}) must have one entry per block_out_channels ({n})");
            }
            foreach (string t in down)
            {
                if (t != DownBlock2D && t != CrossAttnDownBlock2D) throw Bad($"down block type '{t}' is not supported (DownBlock2D, CrossAttnDownBlock2D)");
            }
            foreach (string t in up)
            {
                if (t != UpBlock2D && t != CrossAttnUpBlock2D) throw Bad($"up block type '{t}' is not supported (UpBlock2D, CrossAttnUpBlock2D)");
            }
            string? mid = root.TryGetProperty("mid_block_type", out var m) ? (m.ValueKind == JsonValueKind.Null ? null : m.GetString()) : MidBlock2DCrossAttn;
            if (mid is not null && mid != MidBlock2DCrossAttn) throw Bad($"mid_block_type '{mid}' is not supported (UNetMidBlock2DCrossAttn or null)");

            // attention_head_dim is the number of heads when num_attention_heads is null (diffusers' naming quirk).
            var heads = PerBlock("num_attention_heads", n, null) ?? PerBlock("attention_head_dim", n, 8)!;
            var transformerLayers = PerBlock("transformer_layers_per_block", n, 1)!;
            var reverseTransformerLayers = PerBlock("reverse_transformer_layers_per_block", n, null) ?? Enumerable.Reverse(transformerLayers).ToList();
            var crossDims = PerBlock("cross_attention_dim", n, 1280)!;
            if (crossDims.Distinct().Count() != 1) throw Bad($"cross_attention_dim differing per block ({string.Join(", ", crossDims)}) is not supported");
            var layers = PerBlock("layers_per_block", n, 2)!;

            int groups = Int("norm_num_groups", 32) ?? throw Bad("norm_num_groups null (no GroupNorm) is not supported");
            foreach (int c in blockOut)
            {
                if (c <= 0 || c % groups != 0) throw Bad($"block_out_channels {c} is not a positive multiple of norm_num_groups {groups}");
            }
            for (int i = 0; i < n; i++)
            {
                if (heads[i] <= 0 || blockOut[i] % heads[i] != 0) throw Bad($"block {i}: {blockOut[i]} channels cannot be split into {heads[i]} attention heads");
            }

            string? addition = String("addition_embed_type", null);
            if (addition is not null && addition != TextTime) throw Bad($"addition_embed_type '{addition}' is not supported (null or \"text_time\")");
            int? additionTimeDim = Int("addition_time_embed_dim", null);
            int? projectionDim = Int("projection_class_embeddings_input_dim", null);
            if (addition == TextTime && (additionTimeDim is null || projectionDim is null))
            {
                throw Bad("addition_embed_type \"text_time\" needs addition_time_embed_dim and projection_class_embeddings_input_dim");
            }

            Require("act_fn", "silu");
            Require("time_embedding_type", "positional");
            Require("resnet_time_scale_shift", "default");
            Require("attention_type", "default");
            RequireNull("class_embed_type");
            RequireNull("num_class_embeds");
            RequireNull("encoder_hid_dim_type");
            RequireNull("time_cond_proj_dim");
            RequireNull("time_embedding_act_fn");
            RequireNull("timestep_post_act");
            RequireNull("cross_attention_norm");
            RequireFalse("dual_cross_attention");
            RequireFalse("resnet_skip_time_act");
            RequireFalse("class_embeddings_concat");
            RequireFalse("only_cross_attention");
            if (Float("resnet_out_scale_factor", 1f) != 1f) throw Bad("resnet_out_scale_factor other than 1.0 is not supported");

            int sampleSize = root.TryGetProperty("sample_size", out var ss) && ss.ValueKind == JsonValueKind.Array
                ? ss[0].GetInt32()
                : Int("sample_size", 64) ?? 64;

            return new UnetConfig(
                InChannels: Int("in_channels", 4) ?? 4,
                OutChannels: Int("out_channels", 4) ?? 4,
                BlockOutChannels: blockOut,
                LayersPerBlock: layers,
                DownBlockTypes: down,
                MidBlockType: mid,
                UpBlockTypes: up,
                AttentionHeads: heads,
                TransformerLayersPerBlock: transformerLayers,
                ReverseTransformerLayersPerBlock: reverseTransformerLayers,
                CrossAttentionDim: crossDims[0],
                UseLinearProjection: Bool("use_linear_projection", false),
                NormNumGroups: groups,
                NormEps: Float("norm_eps", 1e-5f),
                FlipSinToCos: Bool("flip_sin_to_cos", true),
                FreqShift: Float("freq_shift", 0f),
                TimeEmbedDim: Int("time_embedding_dim", null) ?? 4 * blockOut[0],
                AdditionEmbedType: addition,
                AdditionTimeEmbedDim: additionTimeDim,
                ProjectionClassEmbeddingsInputDim: projectionDim,
                CenterInputSample: Bool("center_input_sample", false),
                ConvInKernel: Int("conv_in_kernel", 3) ?? 3,
                ConvOutKernel: Int("conv_out_kernel", 3) ?? 3,
                DownsamplePadding: Int("downsample_padding", 1) ?? 1,
                MidBlockScaleFactor: Float("mid_block_scale_factor", 1f),
                SampleSize: sampleSize);
        }

        private ModelLoadException Bad(string what) => new(source, $"UNet config {source}: {what}.");

        private bool Present(string name, out JsonElement e) =>
            root.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

        private int? Int(string name, int? fallback)
        {
            if (!Present(name, out var e)) return root.TryGetProperty(name, out _) ? null : fallback;
            return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Bad($"{name} must be an integer, got {e}");
        }

        private float Float(string name, float fallback)
        {
            if (!Present(name, out var e)) return fallback;
            return e.ValueKind == JsonValueKind.Number ? (float)e.GetDouble() : throw Bad($"{name} must be a number, got {e}");
        }

        private bool Bool(string name, bool fallback)
        {
            if (!Present(name, out var e)) return fallback;
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad($"{name} must be true or false, got {e}"),
            };
        }

        private string? String(string name, string? fallback)
        {
            if (!Present(name, out var e)) return root.TryGetProperty(name, out _) ? null : fallback;
            return e.ValueKind == JsonValueKind.String ? e.GetString() : throw Bad($"{name} must be a string, got {e}");
        }

        private List<int>? IntList(string name, List<int>? fallback)
        {
            if (!Present(name, out var e)) return fallback;
            if (e.ValueKind != JsonValueKind.Array) throw Bad($"{name} must be a list of integers, got {e}");
            return e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int v) ? v : throw Bad($"{name} must hold integers, got {x}")).ToList();
        }

        private List<string>? StringList(string name)
        {
            if (!Present(name, out var e)) return null;
            if (e.ValueKind != JsonValueKind.Array) throw Bad($"{name} must be a list of strings, got {e}");
            return e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : throw Bad($"{name} must hold strings, got {x}")).ToList();
        }

        /// <summary>An "int or list with one int per block" field; null when absent/null and <paramref name="fallback"/> is null.</summary>
        private List<int>? PerBlock(string name, int blocks, int? fallback)
        {
            if (!Present(name, out var e)) return fallback is int f ? Enumerable.Repeat(f, blocks).ToList() : null;
            if (e.ValueKind == JsonValueKind.Number) return Enumerable.Repeat(Int(name, null)!.Value, blocks).ToList();
            if (e.ValueKind == JsonValueKind.Array && e.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Array))
            {
                throw Bad($"{name} with a nested per-layer list is not supported");
            }
            var list = IntList(name, null)!;
            if (list.Count != blocks) throw Bad($"{name} has {list.Count} entries, expected one per block ({blocks})");
            return list;
        }

        private void Require(string name, string expected)
        {
            string? v = String(name, expected);
            if (v != expected) throw Bad($"{name} '{v}' is not supported (only \"{expected}\")");
        }

        private void RequireNull(string name)
        {
            if (Present(name, out var e)) throw Bad($"{name} = {e} is not supported (only null)");
        }

        private void RequireFalse(string name)
        {
            if (!Present(name, out var e)) return;
            bool anyTrue = e.ValueKind == JsonValueKind.True || (e.ValueKind == JsonValueKind.Array && e.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.True));
            if (anyTrue) throw Bad($"{name} = {e} is not supported (only false)");
        }
    }
}

/// <summary>
/// One UNet block as diffusers builds it from the config: checkpoint prefix, block type, channels (for up blocks
/// <see cref="InChannels"/> is the skip width of the last resnet and <see cref="PrevOutChannels"/> the width coming
/// from below), resnet count (<see cref="Layers"/>; for the mid block the number of attention layers, with one resnet more),
/// transformer layers per attention, attention heads, cross-attention width and whether it ends in a down/up sampler.
/// </summary>
public sealed record UnetBlockSpec(
    string Prefix,
    string Type,
    int InChannels,
    int OutChannels,
    int PrevOutChannels,
    int Layers,
    int TransformerLayers,
    int Heads,
    int CrossAttentionDim,
    bool HasSampler)
{
    public bool HasCrossAttention =>
        Type is UnetConfig.CrossAttnDownBlock2D or UnetConfig.CrossAttnUpBlock2D or UnetConfig.MidBlock2DCrossAttn;
}

using System.Text.Json;
using TurboGen.Configs;

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// The fields of a diffusers <c>UNet2DConditionModel</c> config.json that decide its structure (SD 1.x/2.x, SD-Turbo,
/// SDXL, SDXL-Turbo, LCM-distilled UNets with <c>time_cond_proj_dim</c>, and block-removed UNets such as SDXS, BK-SDM and
/// segmind's tiny/small SD: any number of blocks, <c>layers_per_block</c> 1, no mid block, cross-attention-only blocks).
/// Per-block values are already expanded to one entry per down block (index order of <see cref="DownBlockTypes"/>; the up
/// path uses the mirrored entries, as diffusers reverses its lists). <see cref="AttentionHeads"/> is the number of heads: diffusers' config calls it
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
    /// <summary>
    /// Width of the guidance-scale embedding of an LCM-distilled UNet (<c>time_cond_proj_dim</c>): the UNet takes a
    /// <c>timestep_cond</c> input [batch, this] that <c>time_embedding.cond_proj</c> (Linear, no bias) adds to the sinusoidal
    /// timestep embedding before <c>time_embedding.linear_1</c>. Null for every other UNet.
    /// </summary>
    public int? TimeCondProjDim { get; init; }

    /// <summary>
    /// <c>only_cross_attention</c> per down block (a bool is expanded to every block): in such a block's transformers
    /// <c>attn1</c> attends to the text context instead of the image tokens (its to_k/to_v are cross_attention_dim wide).
    /// Up block i uses the entry of its mirrored down block; the mid block never does (diffusers 0.26).
    /// </summary>
    public IReadOnlyList<bool> OnlyCrossAttention { get; init; } = [];

    /// <summary>True when the UNet takes the LCM guidance-scale embedding input <c>timestep_cond</c>.</summary>
    public bool HasGuidanceEmbedding => TimeCondProjDim is not null;

    private bool OnlyCrossAt(int downIndex) => downIndex < OnlyCrossAttention.Count && OnlyCrossAttention[downIndex];

    /// <summary>down_block_types value of a down block with resnets only.</summary>
    public const string DownBlock2D = "DownBlock2D";

    /// <summary>down_block_types value of a down block with resnets and (cross-)attention transformers.</summary>
    public const string CrossAttnDownBlock2D = "CrossAttnDownBlock2D";

    /// <summary>up_block_types value of an up block with resnets only.</summary>
    public const string UpBlock2D = "UpBlock2D";

    /// <summary>up_block_types value of an up block with resnets and (cross-)attention transformers.</summary>
    public const string CrossAttnUpBlock2D = "CrossAttnUpBlock2D";

    /// <summary>mid_block_type value of the supported mid block: <c>UNetMidBlock2DCrossAttn</c>.</summary>
    public const string MidBlock2DCrossAttn = "UNetMidBlock2DCrossAttn";

    /// <summary>addition_embed_type value of SDXL-style conditioning: <c>text_time</c> (extra <c>text_embeds</c> and <c>time_ids</c> inputs).</summary>
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
                LayersPerBlock[i], TransformerLayersPerBlock[i], AttentionHeads[i], CrossAttentionDim, HasSampler: !final) { OnlyCrossAttention = OnlyCrossAt(i) });
        }
        return blocks;
    }

    /// <summary>
    /// Channels of every skip connection the down path keeps, in order: conv_in's output, then per down block each layer's
    /// output and the downsampler's (the residuals a ControlNet adds to them have the same shapes).
    /// </summary>
    public IReadOnlyList<int> SkipChannels()
    {
        var channels = new List<int> { BlockOutChannels[0] };
        foreach (var block in DownBlocks())
        {
            channels.AddRange(Enumerable.Repeat(block.OutChannels, block.Layers + (block.HasSampler ? 1 : 0)));
        }
        return channels;
    }

    /// <summary>The spatial down-sampling factor of every skip connection (1 for conv_in's output, ×2 after each downsampler), in the order of <see cref="SkipChannels"/>.</summary>
    public IReadOnlyList<int> SkipDownscales()
    {
        var factors = new List<int> { 1 };
        int f = 1;
        foreach (var block in DownBlocks())
        {
            factors.AddRange(Enumerable.Repeat(f, block.Layers));
            if (block.HasSampler)
            {
                f *= 2;
                factors.Add(f);
            }
        }
        return factors;
    }

    /// <summary>The symbolic height/width names of a residual at down-sampling factor <paramref name="factor"/> ("latent_height/4"), shared by the ControlNet outputs and the UNet's residual inputs.</summary>
    public static (string Height, string Width) ResidualDims(int factor) =>
        factor == 1 ? ("height", "width") : ($"height/{factor}", $"width/{factor}");

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
                LayersPerBlock[r] + 1, ReverseTransformerLayersPerBlock[i], AttentionHeads[r], CrossAttentionDim, HasSampler: !final) { OnlyCrossAttention = OnlyCrossAt(r) });
        }
        return blocks;
    }

    /// <summary>Parses a diffusers UNet2DConditionModel config.json, rejecting options this builder does not implement with a clear message.</summary>
    /// <param name="json">The config text.</param>
    /// <param name="source">Where it came from, for error messages.</param>
    public static UnetConfig FromJson(string json, string source = "unet/config.json") => Read(ConfigReader.Parse(json, "UNet config", source));

    /// <summary>Reads config fields with diffusers' defaults, expanding "int or per-block list" fields.</summary>
    private static UnetConfig Read(ConfigReader r)
    {
        var blockOut = r.IntList("block_out_channels")?.ToList() ?? throw r.Error("block_out_channels is missing");
        int n = blockOut.Count;
        if (n == 0) throw r.Error("block_out_channels is empty");
        var down = r.StringList("down_block_types") ?? throw r.Error("down_block_types is missing");
        var up = r.StringList("up_block_types") ?? throw r.Error("up_block_types is missing");
        if (down.Count != n || up.Count != n)
        {
            throw r.Error($"down_block_types ({down.Count}) and up_block_types ({up.Count}) must have one entry per block_out_channels ({n})");
        }
        foreach (string t in down)
        {
            if (t != DownBlock2D && t != CrossAttnDownBlock2D) throw r.Error($"down block type '{t}' is not supported (DownBlock2D, CrossAttnDownBlock2D)");
        }
        foreach (string t in up)
        {
            if (t != UpBlock2D && t != CrossAttnUpBlock2D) throw r.Error($"up block type '{t}' is not supported (UpBlock2D, CrossAttnUpBlock2D)");
        }
        // mid_block_type null means "no mid block" (diffusers), unlike other fields where null takes the default.
        string? mid = r.IsNull("mid_block_type") ? null : r.String("mid_block_type", MidBlock2DCrossAttn);
        if (mid is not null && mid != MidBlock2DCrossAttn) throw r.Error($"mid_block_type '{mid}' is not supported (UNetMidBlock2DCrossAttn or null)");

        // attention_head_dim is the number of heads when num_attention_heads is null (diffusers' naming quirk).
        var heads = PerBlock(r, "num_attention_heads", n, null) ?? PerBlock(r, "attention_head_dim", n, 8)!;
        var transformerLayers = PerBlock(r, "transformer_layers_per_block", n, 1)!;
        var reverseTransformerLayers = PerBlock(r, "reverse_transformer_layers_per_block", n, null) ?? Enumerable.Reverse(transformerLayers).ToList();
        var crossDims = PerBlock(r, "cross_attention_dim", n, 1280)!;
        if (crossDims.Distinct().Count() != 1) throw r.Error($"cross_attention_dim differing per block ({string.Join(", ", crossDims)}) is not supported");
        var layers = PerBlock(r, "layers_per_block", n, 2)!;

        int groups = r.IsNull("norm_num_groups") ? throw r.Error("norm_num_groups null (no GroupNorm) is not supported") : r.Int("norm_num_groups", 32, min: 1);
        foreach (int c in blockOut)
        {
            if (c <= 0 || c % groups != 0) throw r.Error($"block_out_channels {c} is not a positive multiple of norm_num_groups {groups}");
        }
        for (int i = 0; i < n; i++)
        {
            if (heads[i] <= 0 || blockOut[i] % heads[i] != 0) throw r.Error($"block {i}: {blockOut[i]} channels cannot be split into {heads[i]} attention heads");
        }

        string? addition = r.OptionalString("addition_embed_type");
        if (addition is not null && addition != TextTime) throw r.Error($"addition_embed_type '{addition}' is not supported (null or \"text_time\")");
        int? additionTimeDim = r.OptionalInt("addition_time_embed_dim");
        int? projectionDim = r.OptionalInt("projection_class_embeddings_input_dim");
        if (addition == TextTime && (additionTimeDim is null || projectionDim is null))
        {
            throw r.Error("addition_embed_type \"text_time\" needs addition_time_embed_dim and projection_class_embeddings_input_dim");
        }
        if (addition == TextTime && (additionTimeDim <= 0 || projectionDim <= 6 * additionTimeDim))
        {
            // text_embeds get what the time ids leave: SDXL 2816 = 1280 + 6 × 256.
            throw r.Error($"projection_class_embeddings_input_dim {projectionDim} and addition_time_embed_dim {additionTimeDim} leave no room for "
                + "text_embeds next to 6 time ids (both must be positive, the first larger than 6 × the second; SDXL: 2816 and 256)");
        }

        Require(r, "act_fn", "silu");
        Require(r, "time_embedding_type", "positional");
        Require(r, "resnet_time_scale_shift", "default");
        Require(r, "attention_type", "default");
        RequireNull(r, "class_embed_type");
        RequireNull(r, "num_class_embeds");
        RequireNull(r, "encoder_hid_dim_type");
        RequireNull(r, "time_embedding_act_fn");
        RequireNull(r, "timestep_post_act");
        RequireNull(r, "cross_attention_norm");
        RequireFalse(r, "dual_cross_attention");
        RequireFalse(r, "resnet_skip_time_act");
        RequireFalse(r, "class_embeddings_concat");
        if (r.Float("resnet_out_scale_factor", 1f) != 1f) throw r.Error("resnet_out_scale_factor other than 1.0 is not supported");

        int? timeCond = r.OptionalInt("time_cond_proj_dim");
        if (timeCond is <= 0) throw r.Error($"time_cond_proj_dim {timeCond} must be positive");
        var onlyCross = PerBlockBool(r, "only_cross_attention", n);

        // sample_size may be one side or [height, width].
        int sampleSize = !r.IsList("sample_size") ? r.Int("sample_size", 64)
            : r.IntList("sample_size") is [int first, ..] ? first : throw r.Error("sample_size is an empty list");

        return new UnetConfig(
            InChannels: r.Int("in_channels", 4),
            OutChannels: r.Int("out_channels", 4),
            BlockOutChannels: blockOut,
            LayersPerBlock: layers,
            DownBlockTypes: down,
            MidBlockType: mid,
            UpBlockTypes: up,
            AttentionHeads: heads,
            TransformerLayersPerBlock: transformerLayers,
            ReverseTransformerLayersPerBlock: reverseTransformerLayers,
            CrossAttentionDim: crossDims[0],
            UseLinearProjection: r.Bool("use_linear_projection", false),
            NormNumGroups: groups,
            NormEps: r.Float("norm_eps", 1e-5f),
            FlipSinToCos: r.Bool("flip_sin_to_cos", true),
            FreqShift: r.Float("freq_shift", 0f),
            TimeEmbedDim: r.OptionalInt("time_embedding_dim") ?? 4 * blockOut[0],
            AdditionEmbedType: addition,
            AdditionTimeEmbedDim: additionTimeDim,
            ProjectionClassEmbeddingsInputDim: projectionDim,
            CenterInputSample: r.Bool("center_input_sample", false),
            ConvInKernel: r.Int("conv_in_kernel", 3),
            ConvOutKernel: r.Int("conv_out_kernel", 3),
            DownsamplePadding: r.Int("downsample_padding", 1),
            MidBlockScaleFactor: r.Float("mid_block_scale_factor", 1f),
            SampleSize: sampleSize)
        {
            TimeCondProjDim = timeCond,
            OnlyCrossAttention = onlyCross,
        };
    }

    /// <summary>A "bool or list with one bool per block" field (absent or null: false everywhere).</summary>
    private static List<bool> PerBlockBool(ConfigReader r, string name, int blocks)
    {
        if (r.Field(name) is not { } e) return Enumerable.Repeat(false, blocks).ToList();
        if (e.ValueKind is JsonValueKind.True or JsonValueKind.False) return Enumerable.Repeat(e.ValueKind == JsonValueKind.True, blocks).ToList();
        if (e.ValueKind != JsonValueKind.Array || e.EnumerateArray().Any(x => x.ValueKind is not (JsonValueKind.True or JsonValueKind.False)))
        {
            throw r.Error($"{name} = {e} must be a bool or a list of bools");
        }
        var list = e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.True).ToList();
        if (list.Count != blocks) throw r.Error($"{name} has {list.Count} entries, expected one per block ({blocks})");
        return list;
    }

    /// <summary>An "int or list with one int per block" field; null when absent/null and <paramref name="fallback"/> is null.</summary>
    private static List<int>? PerBlock(ConfigReader r, string name, int blocks, int? fallback)
    {
        if (!r.Has(name)) return fallback is int f ? Enumerable.Repeat(f, blocks).ToList() : null;
        if (!r.IsList(name)) return Enumerable.Repeat(r.Int(name, 0), blocks).ToList();
        if (r.Field(name)!.Value.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.Array))
        {
            throw r.Error($"{name} with a nested per-layer list is not supported");
        }
        var list = r.IntList(name)!;
        if (list.Count != blocks) throw r.Error($"{name} has {list.Count} entries, expected one per block ({blocks})");
        return [.. list];
    }

    private static void Require(ConfigReader r, string name, string expected)
    {
        string v = r.String(name, expected);
        if (v != expected) throw r.Error($"{name} '{v}' is not supported (only \"{expected}\")");
    }

    private static void RequireNull(ConfigReader r, string name)
    {
        if (r.Field(name) is { } e) throw r.Error($"{name} = {e} is not supported (only null)");
    }

    private static void RequireFalse(ConfigReader r, string name)
    {
        if (r.Field(name) is not { } e) return;
        bool anyTrue = e.ValueKind == JsonValueKind.True || (e.ValueKind == JsonValueKind.Array && e.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.True));
        if (anyTrue) throw r.Error($"{name} = {e} is not supported (only false)");
    }
}

/// <summary>
/// One UNet block as diffusers builds it from the config: checkpoint prefix, block type, channels (for up blocks
/// <see cref="InChannels"/> is the skip width of the last resnet and <see cref="PrevOutChannels"/> the width coming
/// from below), resnet count (<see cref="Layers"/>; for the mid block the number of attention layers, with one resnet more),
/// transformer layers per attention, attention heads, cross-attention width and whether it ends in a down/up sampler;
/// <see cref="OnlyCrossAttention"/> when its transformers' attn1 attends to the text context.
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
    /// <summary>diffusers <c>only_cross_attention</c> for this block: attn1 is a cross-attention over the text context.</summary>
    public bool OnlyCrossAttention { get; init; }

    /// <summary>True for the block types with attention transformers (CrossAttnDownBlock2D, CrossAttnUpBlock2D, UNetMidBlock2DCrossAttn).</summary>
    public bool HasCrossAttention =>
        Type is UnetConfig.CrossAttnDownBlock2D or UnetConfig.CrossAttnUpBlock2D or UnetConfig.MidBlock2DCrossAttn;
}

using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Unet;

/// <summary>
/// Builds the ONNX graph of a diffusers <c>UNet2DConditionModel</c> (SD 2.x / SD-Turbo, SDXL / SDXL-Turbo) from its
/// config.json and its diffusers-named checkpoint, with exactly the I/O of an Optimum export (MODEL-CONTRACT §2.1–2.2):
/// inputs <c>sample</c> [batch,in,height,width], <c>timestep</c> (see <see cref="TimestepInput"/>),
/// <c>encoder_hidden_states</c> [batch,sequence_length,cross_attention_dim], plus <c>text_embeds</c> [batch,P] and
/// <c>time_ids</c> [batch,6] for <c>addition_embed_type: "text_time"</c>, and <c>timestep_cond</c> [batch,time_cond_proj_dim]
/// (the LCM guidance-scale embedding, Optimum's name) for <c>time_cond_proj_dim</c>; output <c>out_sample</c> [batch,out,height,width].
/// </summary>
/// <remarks>
/// How it works: the timestep (broadcast to the batch) gets a sinusoidal embedding of width block_out_channels[0] and
/// goes through <c>time_embedding</c> (an LCM UNet adds <c>time_embedding.cond_proj</c>(timestep_cond) to it first); SDXL adds <c>add_embedding</c>(text_embeds ‖ sinusoidal(time_ids)). <c>conv_in</c>
/// lifts the latent to block_out_channels[0]; each down block (<c>DownBlock2D</c>, <c>CrossAttnDownBlock2D</c>) runs
/// <c>ResnetBlock2D</c>s (conditioned on the embedding), optionally <c>Transformer2DModel</c>s (self-attention, cross-attention
/// over <c>encoder_hidden_states</c>, GEGLU feed-forward), and a stride-2 <c>Downsample2D</c>, pushing every output on a
/// skip stack; <c>UNetMidBlock2DCrossAttn</c> runs at the deepest width (block-removed UNets such as SDXS have none); each up block pops one skip per resnet
/// (channel concat) and ends in a nearest ×2 <c>Upsample2D</c>; <c>conv_norm_out</c> → SiLU → <c>conv_out</c> gives the
/// noise prediction. One class per diffusers module (namespace TurboGen.Graphs.Architectures.Unet), node scopes named like the checkpoint keys.
/// Each block declares its checkpoint tensors next to its <c>Forward</c> (<c>static Declare</c>); the checkpoint is checked against
/// them first (every missing key and wrong shape is reported, <see cref="Nn.Checked"/>), every tensor the build reads must be one of
/// them, and keys never read are reported after the build. Weights are fp32 (or fp16, <see cref="UnetBuildOptions.Precision"/>) initializers named by their keys
/// (Linear weights transposed, as <c>key.T</c>); write large models with <see cref="GraphBuilder.Save"/> and external data.
/// </remarks>
public static class Unet2DConditionModel
{
    /// <summary>Name of the noisy latent input: <c>sample</c> [batch, in_channels, height, width] (latent pixels, 1/8 of the image).</summary>
    public const string SampleInput = "sample";

    /// <summary>Name of the timestep input: <c>timestep</c>, a float32 scalar or a [steps] float32/int64 vector (<see cref="UnetBuildOptions"/>).</summary>
    public const string TimestepInputName = "timestep";

    /// <summary>Name of the text conditioning input: <c>encoder_hidden_states</c> [batch, 77, cross_attention_dim].</summary>
    public const string EncoderHiddenStatesInput = "encoder_hidden_states";

    /// <summary>SDXL (text_time) only: name of the pooled text embedding input <c>text_embeds</c> [batch, width].</summary>
    public const string TextEmbedsInput = "text_embeds";

    /// <summary>SDXL (text_time) only: name of the size/crop conditioning input <c>time_ids</c> [batch, count] (6 for SDXL: H, W, top, left, H, W).</summary>
    public const string TimeIdsInput = "time_ids";

    /// <summary>LCM-distilled UNets only (<see cref="UnetConfig.TimeCondProjDim"/>): name of the guidance-scale embedding input <c>timestep_cond</c> [batch, time_cond_proj_dim].</summary>
    public const string TimestepCondInput = "timestep_cond";

    /// <summary>Name of the output: <c>out_sample</c> [batch, out_channels, height, width], the model's prediction (ε, v or x0 per prediction_type).</summary>
    public const string OutSampleOutput = "out_sample";

    /// <summary>Prefix of the ControlNet down residual inputs of a UNet built with <see cref="UnetBuildOptions.ControlNetResiduals"/>: <c>down_block_additional_residual_0</c> … (one per skip connection, in skip order).</summary>
    public const string DownResidualInputPrefix = "down_block_additional_residual_";

    /// <summary>The ControlNet mid residual input of a UNet built with <see cref="UnetBuildOptions.ControlNetResiduals"/>.</summary>
    public const string MidResidualInput = "mid_block_additional_residual";

    /// <summary>The declared graph inputs (converted to the activation type where they feed float layers).</summary>
    internal sealed record Inputs(GraphValue Sample, GraphValue Timestep, GraphValue Context, GraphValue? TextEmbeds, GraphValue? TimeIds, GraphValue? TimestepCond);

    /// <summary>
    /// Declares <c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>, for text_time conditioning <c>text_embeds</c> + <c>time_ids</c>,
    /// and for <c>time_cond_proj_dim</c> <c>timestep_cond</c>
    /// (shared with the ControlNet, whose inputs are the UNet's plus the control image).
    /// </summary>
    internal static Inputs DeclareInputs(GraphBuilder g, UnetConfig config, UnetBuildOptions options)
    {
        GraphValue sample = g.Input(SampleInput, ElementType.Float, "batch", config.InChannels, "height", "width");
        GraphValue timestep = options.Timestep switch
        {
            TimestepInput.ScalarFloat => g.Input(TimestepInputName, ElementType.Float),
            TimestepInput.VectorFloat => g.Input(TimestepInputName, ElementType.Float, "steps"),
            TimestepInput.VectorInt64 => g.Input(TimestepInputName, ElementType.Int64, "steps"),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Timestep, "Unknown timestep input variant."),
        };
        Dim sequence = options.SequenceLength is int s ? s : "sequence_length";
        GraphValue context = g.FromFloat32(g.Input(EncoderHiddenStatesInput, ElementType.Float, "batch", sequence, config.CrossAttentionDim));
        GraphValue? textEmbeds = null, timeIds = null;
        if (config.HasTextTimeEmbedding)
        {
            textEmbeds = g.FromFloat32(g.Input(TextEmbedsInput, ElementType.Float, "batch", TextEmbedsWidth(config, options)));
            timeIds = g.Input(TimeIdsInput, ElementType.Float, "batch", options.TimeIdCount);
        }
        GraphValue? timestepCond = config.TimeCondProjDim is int condDim
            ? g.FromFloat32(g.Input(TimestepCondInput, ElementType.Float, "batch", condDim))
            : null;
        return new Inputs(sample, timestep, context, textEmbeds, timeIds, timestepCond);
    }

    /// <summary>SiLU(time_embedding(sinusoidal(t) [+ cond_proj(timestep_cond)]) [+ add_embedding(text_embeds ‖ sinusoidal(time_ids))]), the input of every resnet's time_emb_proj.</summary>
    internal static GraphValue TimeEmbedding(GraphBuilder g, Nn nn, UnetConfig config, UnetBuildOptions options, Inputs inputs)
    {
        GraphValue emb;
        using (g.Scope("time"))
        {
            GraphValue t = BatchTimesteps(g, inputs.Timestep, inputs.Sample, options.Timestep);
            GraphValue tProj = new Timesteps(g, config.BlockOutChannels[0], config.FlipSinToCos, config.FreqShift).Forward(t);
            emb = new TimestepEmbedding(nn, "time_embedding").Forward(tProj, inputs.TimestepCond);
            if (inputs.TextEmbeds is { } textEmbeds && inputs.TimeIds is { } timeIds)
            {
                int addDim = config.AdditionTimeEmbedDim!.Value;
                GraphValue idsProj = new Timesteps(g, addDim, config.FlipSinToCos, config.FreqShift).Forward(g.Reshape(timeIds, -1));
                GraphValue timeEmbeds = g.Reshape(idsProj, -1, (long)options.TimeIdCount * addDim);
                GraphValue addEmbeds = g.Concat(-1, textEmbeds, timeEmbeds);
                emb = g.Add(emb, new TimestepEmbedding(nn, "add_embedding").Forward(addEmbeds));
            }
        }
        return nn.Silu(emb);
    }

    /// <summary>Skip i += input <c>down_block_additional_residual_i</c> (diffusers adds ControlNet residual i to skip i before the up blocks).</summary>
    private static void AddDownResiduals(GraphBuilder g, List<GraphValue> skips, UnetConfig config)
    {
        using var _ = g.Scope("controlnet_residuals");
        var channels = config.SkipChannels();
        var factors = config.SkipDownscales();
        for (int i = 0; i < skips.Count; i++)
        {
            var (h, w) = UnetConfig.ResidualDims(factors[i]);
            GraphValue residual = g.Input(DownResidualInputPrefix + i, ElementType.Float, "batch", channels[i], h, w);
            skips[i] = g.Add(skips[i], g.FromFloat32(residual));
        }
    }

    /// <summary>
    /// Every checkpoint tensor the build reads for <paramref name="config"/> (diffusers key naming, in module order): the
    /// input/output layers and embeddings here, each block's own tensors by that block's <c>Declare</c>, next to its <c>Forward</c>.
    /// </summary>
    internal static TensorLayout Declare(UnetConfig config)
    {
        var t = new TensorLayout();
        DeclareEncoder(t, config);
        foreach (var block in config.UpBlocks()) UpBlock2D.Declare(t, config, block);
        int c0 = config.BlockOutChannels[0];
        t.Norm("conv_norm_out", c0);
        t.Conv2d("conv_out", c0, config.OutChannels, config.ConvOutKernel);
        return t;
    }

    /// <summary>The tensors up to the mid block (conv_in, the embeddings, the down blocks, the mid block), shared with the ControlNet.</summary>
    internal static void DeclareEncoder(TensorLayout t, UnetConfig config)
    {
        int c0 = config.BlockOutChannels[0];
        int temb = config.TimeEmbedDim;
        t.Conv2d("conv_in", config.InChannels, c0, config.ConvInKernel);
        TimestepEmbedding.Declare(t, "time_embedding", c0, temb, config.TimeCondProjDim);
        if (config.HasTextTimeEmbedding)
        {
            TimestepEmbedding.Declare(t, "add_embedding", config.ProjectionClassEmbeddingsInputDim!.Value, temb);
        }
        foreach (var block in config.DownBlocks()) DownBlock2D.Declare(t, config, block);
        if (config.MidBlock() is { } mid) UNetMidBlock2DCrossAttn.Declare(t, config, mid);
    }

    /// <summary>Builds the UNet graph for <paramref name="config"/> from <paramref name="weights"/>.</summary>
    /// <exception cref="ModelLoadException">The checkpoint lacks tensors, has wrong shapes, or has tensors the architecture does not use.</exception>
    public static GraphBuilder Build(UnetConfig config, ICheckpointTensors weights, UnetBuildOptions? options = null)
    {
        options ??= new UnetBuildOptions();

        var g = new GraphBuilder(options.GraphName) { FloatType = options.Precision.FloatType() };
        var nn = Nn.Checked(g, weights, Declare(config), "UNet", options.Kernels);

        var inputs = DeclareInputs(g, config, options);
        GraphValue sample = inputs.Sample, context = inputs.Context;

        // 1. time (and SDXL micro-conditioning) embedding; every ResnetBlock2D applies SiLU to it before its time_emb_proj: computed once.
        GraphValue temb = TimeEmbedding(g, nn, config, options, inputs);

        // 2. input convolution
        GraphValue x = g.FromFloat32(sample);
        if (config.CenterInputSample)
        {
            x = g.Sub(g.Mul(x, g.Const(2f)), g.Const(1f));
        }
        x = nn.Conv2d(x, "conv_in");

        // 3. down
        var skips = new List<GraphValue> { x };
        foreach (var block in config.DownBlocks())
        {
            x = block.HasCrossAttention
                ? new CrossAttnDownBlock2D(nn, config, block).Forward(x, temb, context, skips)
                : new DownBlock2D(nn, config, block).Forward(x, temb, skips);
        }

        if (options.ControlNetResiduals)
        {
            AddDownResiduals(g, skips, config);
        }

        // 4. mid
        if (config.MidBlock() is { } mid)
        {
            x = new UNetMidBlock2DCrossAttn(nn, config, mid).Forward(x, temb, context);
        }
        if (options.ControlNetResiduals)
        {
            var (mh, mw) = UnetConfig.ResidualDims(config.SkipDownscales()[^1]);
            x = g.Add(x, g.FromFloat32(g.Input(MidResidualInput, ElementType.Float, "batch", config.BlockOutChannels[^1], mh, mw)));
        }

        // 5. up
        foreach (var block in config.UpBlocks())
        {
            x = block.HasCrossAttention
                ? new CrossAttnUpBlock2D(nn, config, block).Forward(x, temb, context, skips)
                : new UpBlock2D(nn, config, block).Forward(x, temb, skips);
        }

        // 6. output
        x = nn.Silu(nn.GroupNorm(x, "conv_norm_out", config.NormNumGroups, config.NormEps));
        x = nn.Conv2d(x, "conv_out");
        g.Output(g.ToFloat32(x), OutSampleOutput, ElementType.Float, "batch", config.OutChannels, "height", "width");

        if (!options.AllowUnusedKeys)
        {
            TensorLayout.RequireAllUsed(weights, _ => false, "UNet");
        }
        return g;
    }

    /// <summary>Width of the <c>text_embeds</c> input: projection_class_embeddings_input_dim − TimeIdCount·addition_time_embed_dim (1280 for SDXL).</summary>
    public static int TextEmbedsWidth(UnetConfig config, UnetBuildOptions options)
    {
        if (!config.HasTextTimeEmbedding) return 0;
        int width = config.ProjectionClassEmbeddingsInputDim!.Value - options.TimeIdCount * config.AdditionTimeEmbedDim!.Value;
        if (width <= 0)
        {
            throw new ModelLoadException("config.json",
                $"projection_class_embeddings_input_dim {config.ProjectionClassEmbeddingsInputDim} leaves no room for text_embeds next to {options.TimeIdCount} time ids of width {config.AdditionTimeEmbedDim}.");
        }
        return width;
    }

    /// <summary>The timestep input as float32 [batch]: cast if int64, and a scalar or [1] broadcast to the batch of <paramref name="sample"/>.</summary>
    private static GraphValue BatchTimesteps(GraphBuilder g, GraphValue timestep, GraphValue sample, TimestepInput variant)
    {
        GraphValue t = variant == TimestepInput.VectorInt64 ? g.Cast(timestep, ElementType.Float) : timestep;
        GraphValue batch = g.Op("Shape", [sample], ("start", 0L), ("end", 1L));
        return g.Op("Expand", [t, batch]);
    }
}

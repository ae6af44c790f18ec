using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Clip;

/// <summary>
/// Builds transformers' <c>CLIPTextModel</c> / <c>CLIPTextModelWithProjection</c> as an ONNX graph with Optimum's I/O.
/// <para>
/// How it works: <c>input_ids</c> [batch, 77] are looked up in <c>token_embedding</c> and added to
/// <c>position_embedding</c> (output <c>hidden_states.0</c>). Each of the L pre-LayerNorm encoder layers does
/// x += out_proj(causal multi-head attention(layer_norm1(x))) and x += fc2(act(fc1(layer_norm2(x)))), with act = quick_gelu
/// (OpenAI CLIP-L) or exact gelu (OpenCLIP bigG/H); the output of layer k is <c>hidden_states.k</c>.
/// <c>last_hidden_state</c> = final_layer_norm(x). The pooled state is <c>last_hidden_state</c> at the EOS position
/// (argmax(input_ids) for the legacy eos_token_id == 2 configs, else the first id equal to eos_token_id) and is output as
/// <c>pooler_output</c> (CLIPTextModel) or projected by <c>text_projection</c> (no bias) into <c>text_embeds</c>
/// (CLIPTextModelWithProjection). Before building, every key the config implies is checked for presence and shape
/// (<see cref="TensorLayout"/>); afterwards, checkpoint keys that were never read are reported. One class per transformers
/// module: <see cref="ClipTextTransformer"/>, <see cref="ClipTextEmbeddings"/>, <see cref="ClipEncoderLayer"/> (CLIPEncoderLayer),
/// <see cref="ClipAttention"/> (CLIPAttention), <see cref="ClipMlp"/> (CLIPMLP).
/// </para>
/// </summary>
public static class ClipTextModel
{
    private const string What = "CLIP text model";

    /// <summary>Keys some checkpoints carry that the model does not need (buffers), relative to the key prefix.</summary>
    public static readonly IReadOnlyList<string> KnownUnusedKeys = ["text_model.embeddings.position_ids"];

    /// <summary>Every tensor a checkpoint for <paramref name="config"/> must contain, with its transformers shape.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> ExpectedTensors(ClipTextConfig config, bool withProjection, string keyPrefix = "") =>
        Layout(config, withProjection, keyPrefix).Tensors;

    private static TensorLayout Layout(ClipTextConfig config, bool withProjection, string keyPrefix)
    {
        var t = new TensorLayout();
        ClipTextTransformer.Declare(t, config, keyPrefix + "text_model");
        if (withProjection)
        {
            t.Linear(keyPrefix + "text_projection", config.HiddenSize, config.ProjectionDim, bias: false);
        }
        return t;
    }

    /// <summary>
    /// Builds the graph. Throws <see cref="ModelLoadException"/> listing every missing or mis-shaped key, and (unless
    /// <see cref="ClipTextBuildOptions.AllowUnusedKeys"/>) every key under the prefix the model did not read.
    /// </summary>
    public static GraphBuilder Build(ClipTextConfig config, ICheckpointTensors weights, ClipTextBuildOptions? options = null)
    {
        options ??= new ClipTextBuildOptions();
        config.Validate();
        if (options.InputIdsType is not (ElementType.Int64 or ElementType.Int32))
        {
            throw new ArgumentException($"input_ids must be Int64 or Int32, not {options.InputIdsType}.", nameof(options));
        }
        bool withProjection = options.WithProjection ?? config.HasProjection;

        var g = new GraphBuilder(withProjection ? ClipTextConfig.ClipTextModelWithProjectionArchitecture : ClipTextConfig.ClipTextModelArchitecture)
        {
            FloatType = options.Precision.FloatType(),
        };
        var nn = Nn.Checked(g, weights, Layout(config, withProjection, options.KeyPrefix), What, options.Kernels);
        long seq = config.MaxPositionEmbeddings, h = config.HiddenSize;
        GraphValue inputIds = g.Input("input_ids", options.InputIdsType, "batch", seq);

        var (lastHidden, hiddenStates) = new ClipTextTransformer(nn, config, options.KeyPrefix + "text_model").Forward(inputIds);
        GraphValue pooled = Pool(g, config, options.KeyPrefix + "text_model.pooler", lastHidden, inputIds, options.InputIdsType);

        if (withProjection)
        {
            GraphValue textEmbeds = nn.Linear(pooled, options.KeyPrefix + "text_projection", bias: false);
            g.Output(g.ToFloat32(textEmbeds), "text_embeds", ElementType.Float, "batch", config.ProjectionDim);
            g.Output(g.ToFloat32(lastHidden), "last_hidden_state", ElementType.Float, "batch", seq, h);
        }
        else
        {
            g.Output(g.ToFloat32(lastHidden), "last_hidden_state", ElementType.Float, "batch", seq, h);
            g.Output(g.ToFloat32(pooled), "pooler_output", ElementType.Float, "batch", h);
        }
        if (options.OutputHiddenStates)
        {
            for (int i = 0; i < hiddenStates.Count; i++)
            {
                g.Output(g.ToFloat32(hiddenStates[i]), $"hidden_states.{i}", ElementType.Float, "batch", seq, h);
            }
        }

        if (!options.AllowUnusedKeys)
        {
            string prefix = options.KeyPrefix;
            TensorLayout.RequireAllUsed(weights, n => !n.StartsWith(prefix, StringComparison.Ordinal) || KnownUnusedKeys.Contains(n[prefix.Length..]), What);
        }
        return g;
    }

    // ---- pooling ------------------------------------------------------------------------------

    /// <summary>last_hidden_state[b, eos_position(b)] → [B,H].</summary>
    private static GraphValue Pool(GraphBuilder g, ClipTextConfig config, string scope, GraphValue lastHidden, GraphValue inputIds, ElementType idsType)
    {
        using var _ = g.Scope(scope);
        GraphValue ids32 = idsType == ElementType.Int32 ? inputIds : g.Cast(inputIds, ElementType.Int32);
        GraphValue scores = config.UsesLegacyArgmaxPooling
            ? ids32                                                                         // argmax(input_ids): the first 49407
            : g.Cast(g.Op("Equal", [ids32, ConstInt32(g, config.EosTokenId)]), ElementType.Int32); // first id == eos
        // ArgMax returns the first maximal index (select_last_index = 0), like torch.argmax.
        GraphValue position = g.Op("ArgMax", [scores], ("axis", 1L), ("keepdims", 1L));          // [B,1] int64
        return g.Op("GatherND", [lastHidden, position], ("batch_dims", 1L));                 // [B,H]
    }

    private static GraphValue ConstInt32(GraphBuilder g, long value)
    {
        int v = checked((int)value);
        return g.Weight($"{g.CurrentScope}/eos_token_id", ElementType.Int32, [], WeightData.FromArray(new[] { v }));
    }
}

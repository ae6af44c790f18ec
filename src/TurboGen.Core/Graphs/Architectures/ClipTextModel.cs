using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures;

/// <summary>How <see cref="ClipTextModel.Build"/> shapes the graph.</summary>
public sealed record ClipTextBuildOptions
{
    /// <summary>Build CLIPTextModelWithProjection (outputs <c>text_embeds</c>); null: as config.json's architecture says.</summary>
    public bool? WithProjection { get; init; }

    /// <summary>Add the outputs <c>hidden_states.0</c> … <c>hidden_states.L</c> (Optimum does this for the SDXL encoders).</summary>
    public bool OutputHiddenStates { get; init; }

    /// <summary>Element type of <c>input_ids</c>: Int64 (Optimum) or Int32 (Olive's SDXL text_encoder, the ORT demo).</summary>
    public ElementType InputIdsType { get; init; } = ElementType.Int64;

    /// <summary>Prefix of every checkpoint key ("" for diffusers/transformers files; e.g. "conditioner.embedders.0.transformer." inside a single-file SDXL checkpoint).</summary>
    public string KeyPrefix { get; init; } = "";

    /// <summary>Do not fail when keys under <see cref="KeyPrefix"/> are left unread (e.g. building CLIPTextModel from a checkpoint with a projection).</summary>
    public bool AllowUnusedKeys { get; init; }

    /// <summary>Weights and activations in float32 (default) or float16; outputs are float32 either way.</summary>
    public BuildPrecision Precision { get; init; } = BuildPrecision.Float32;

    /// <summary>Operator forms for Linear layers (default: plain ONNX; the causal attention stays plain).</summary>
    public GraphKernels Kernels { get; init; } = GraphKernels.Standard;
}

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
/// (CLIPTextModelWithProjection). Before building, every key the config implies is checked for presence and shape;
/// afterwards, checkpoint keys that were never read are reported.
/// </para>
/// </summary>
public static class ClipTextModel
{
    /// <summary>Keys some checkpoints carry that the model does not need (buffers), relative to the key prefix.</summary>
    public static readonly IReadOnlyList<string> KnownUnusedKeys = ["text_model.embeddings.position_ids"];

    /// <summary>Every tensor a checkpoint for <paramref name="config"/> must contain, with its transformers shape.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> ExpectedTensors(ClipTextConfig config, bool withProjection, string keyPrefix = "")
    {
        long h = config.HiddenSize, inter = config.IntermediateSize;
        string t = keyPrefix + "text_model.";
        var list = new List<(string, long[])>
        {
            (t + "embeddings.token_embedding.weight", [config.VocabSize, h]),
            (t + "embeddings.position_embedding.weight", [config.MaxPositionEmbeddings, h]),
        };
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string l = $"{t}encoder.layers.{i}.";
            foreach (string proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                list.Add((l + $"self_attn.{proj}.weight", [h, h]));
                list.Add((l + $"self_attn.{proj}.bias", [h]));
            }
            list.Add((l + "layer_norm1.weight", [h]));
            list.Add((l + "layer_norm1.bias", [h]));
            list.Add((l + "mlp.fc1.weight", [inter, h]));
            list.Add((l + "mlp.fc1.bias", [inter]));
            list.Add((l + "mlp.fc2.weight", [h, inter]));
            list.Add((l + "mlp.fc2.bias", [h]));
            list.Add((l + "layer_norm2.weight", [h]));
            list.Add((l + "layer_norm2.bias", [h]));
        }
        list.Add((t + "final_layer_norm.weight", [h]));
        list.Add((t + "final_layer_norm.bias", [h]));
        if (withProjection)
        {
            list.Add((keyPrefix + "text_projection.weight", [config.ProjectionDim, h]));
        }
        return list;
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
        CheckTensors(ExpectedTensors(config, withProjection, options.KeyPrefix), weights);

        var g = new GraphBuilder(withProjection ? ClipTextConfig.ClipTextModelWithProjectionArchitecture : ClipTextConfig.ClipTextModelArchitecture)
        {
            FloatType = options.Precision.FloatType(),
        };
        var nn = new Nn(g, weights) { Kernels = options.Kernels };
        long seq = config.MaxPositionEmbeddings, h = config.HiddenSize;
        string inputIds = g.Input("input_ids", options.InputIdsType, "batch", seq);

        var (lastHidden, hiddenStates) = TextTransformer(nn, config, options.KeyPrefix + "text_model", inputIds);
        string pooled = Pool(g, config, options.KeyPrefix + "text_model.pooler", lastHidden, inputIds, options.InputIdsType);

        if (withProjection)
        {
            string textEmbeds = nn.Linear(pooled, options.KeyPrefix + "text_projection", bias: false);
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
            CheckAllKeysUsed(weights, options.KeyPrefix);
        }
        return g;
    }

    // ---- CLIPTextTransformer ------------------------------------------------------------------

    /// <summary>embeddings → L encoder layers → final_layer_norm. Returns last_hidden_state and hidden_states[0..L].</summary>
    private static (string LastHidden, List<string> HiddenStates) TextTransformer(Nn nn, ClipTextConfig config, string prefix, string inputIds)
    {
        string x = Embeddings(nn, prefix + ".embeddings", inputIds);
        var hiddenStates = new List<string> { x };
        string mask = CausalMask(nn.G, prefix, config.MaxPositionEmbeddings);
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            x = EncoderLayer(nn, config, $"{prefix}.encoder.layers.{i}", x, mask);
            hiddenStates.Add(x);
        }
        string last = nn.LayerNorm(x, prefix + ".final_layer_norm", (float)config.LayerNormEps);
        return (last, hiddenStates);
    }

    /// <summary>CLIPTextEmbeddings: token_embedding[input_ids] + position_embedding[0..77).</summary>
    private static string Embeddings(Nn nn, string prefix, string inputIds)
    {
        var g = nn.G;
        string tokens = nn.Param(prefix + ".token_embedding.weight");
        string positions = nn.Param(prefix + ".position_embedding.weight");
        using var _ = g.Scope(prefix);
        string tokenEmbeds = g.Op("Gather", [tokens, inputIds], ("axis", 0L));   // [B,77,H]
        return g.Add(tokenEmbeds, positions);                                   // + [77,H]
    }

    /// <summary>Additive causal mask [T,T]: 0 on and below the diagonal, float.MinValue above (as transformers' finfo.min); float32, as the attention scores it is added to.</summary>
    private static string CausalMask(GraphBuilder g, string prefix, long seq)
    {
        var mask = new float[seq * seq];
        for (long q = 0; q < seq; q++)
        {
            for (long k = q + 1; k < seq; k++)
            {
                mask[q * seq + k] = float.MinValue;
            }
        }
        using var _ = g.Scope(prefix + ".causal_attention_mask");
        return g.ConstFloat32(mask, seq, seq);
    }

    /// <summary>CLIPEncoderLayer (pre-LN): x + self_attn(layer_norm1(x)), then + mlp(layer_norm2(x)).</summary>
    private static string EncoderLayer(Nn nn, ClipTextConfig config, string prefix, string x, string mask)
    {
        var g = nn.G;
        float eps = (float)config.LayerNormEps;
        string attn = SelfAttention(nn, config, prefix + ".self_attn", nn.LayerNorm(x, prefix + ".layer_norm1", eps), mask);
        string afterAttn;
        using (g.Scope(prefix))
        {
            afterAttn = g.Add(x, attn);
        }
        string mlp = Mlp(nn, config, prefix + ".mlp", nn.LayerNorm(afterAttn, prefix + ".layer_norm2", eps));
        using (g.Scope(prefix))
        {
            return g.Add(afterAttn, mlp);
        }
    }

    /// <summary>CLIPAttention: q/k/v projections, causal scaled dot-product attention over heads, out_proj.</summary>
    private static string SelfAttention(Nn nn, ClipTextConfig config, string prefix, string x, string mask)
    {
        string q = nn.Linear(x, prefix + ".q_proj");
        string k = nn.Linear(x, prefix + ".k_proj");
        string v = nn.Linear(x, prefix + ".v_proj");
        string o;
        using (nn.G.Scope(prefix))
        {
            o = nn.Attention(q, k, v, config.NumAttentionHeads, config.HiddenSize, mask);
        }
        return nn.Linear(o, prefix + ".out_proj");
    }

    /// <summary>CLIPMLP: fc2(act(fc1(x))) with act = quick_gelu or gelu.</summary>
    private static string Mlp(Nn nn, ClipTextConfig config, string prefix, string x)
    {
        string hidden = nn.Linear(x, prefix + ".fc1");
        string activated;
        using (nn.G.Scope(prefix + "." + config.HiddenAct))
        {
            activated = config.HiddenAct switch
            {
                "quick_gelu" => nn.QuickGelu(hidden),
                "gelu" => nn.Gelu(hidden),
                _ => throw new ModelLoadException("config.json", $"Unsupported CLIP hidden_act '{config.HiddenAct}'."),
            };
        }
        return nn.Linear(activated, prefix + ".fc2");
    }

    // ---- pooling ------------------------------------------------------------------------------

    /// <summary>last_hidden_state[b, eos_position(b)] → [B,H].</summary>
    private static string Pool(GraphBuilder g, ClipTextConfig config, string scope, string lastHidden, string inputIds, ElementType idsType)
    {
        using var _ = g.Scope(scope);
        string ids32 = idsType == ElementType.Int32 ? inputIds : g.Cast(inputIds, ElementType.Int32);
        string scores = config.UsesLegacyArgmaxPooling
            ? ids32                                                                         // argmax(input_ids): the first 49407
            : g.Cast(g.Op("Equal", [ids32, ConstInt32(g, config.EosTokenId)]), ElementType.Int32); // first id == eos
        // ArgMax returns the first maximal index (select_last_index = 0), like torch.argmax.
        string position = g.Op("ArgMax", [scores], ("axis", 1L), ("keepdims", 1L));          // [B,1] int64
        return g.Op("GatherND", [lastHidden, position], ("batch_dims", 1L));                 // [B,H]
    }

    private static string ConstInt32(GraphBuilder g, long value)
    {
        int v = checked((int)value);
        return g.Weight($"{g.CurrentScope}/eos_token_id", ElementType.Int32, [], WeightData.FromArray(new[] { v }));
    }

    // ---- key checks ---------------------------------------------------------------------------

    private static void CheckTensors(IReadOnlyList<(string Name, long[] Shape)> expected, ICheckpointTensors weights)
    {
        var missing = expected.Where(e => !weights.Contains(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count > 0)
        {
            throw new ModelLoadException(weights.Source,
                $"CLIP text checkpoint {weights.Source} is missing {missing.Count} tensor(s): {ListKeys(missing)}.");
        }
        var wrong = new List<string>();
        foreach (var (name, shape) in expected)
        {
            long[] actual = weights.Shape(name);
            if (!actual.SequenceEqual(shape))
            {
                wrong.Add($"{name} is [{string.Join(",", actual)}], config expects [{string.Join(",", shape)}]");
            }
        }
        if (wrong.Count > 0)
        {
            throw new ModelLoadException(weights.Source,
                $"CLIP text checkpoint {weights.Source} does not match its config: {ListKeys(wrong)}.");
        }
    }

    private static void CheckAllKeysUsed(ICheckpointTensors weights, string prefix)
    {
        var used = new HashSet<string>(weights.Used, StringComparer.Ordinal);
        var unused = weights.Names
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !used.Contains(n) && !KnownUnusedKeys.Contains(n[prefix.Length..]))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (unused.Count > 0)
        {
            throw new ModelLoadException(weights.Source,
                $"CLIP text checkpoint {weights.Source} has {unused.Count} tensor(s) the model does not use (wrong model type or config?): {ListKeys(unused)}.");
        }
    }

    private static string ListKeys(List<string> keys, int max = 20) =>
        keys.Count <= max ? string.Join(", ", keys) : string.Join(", ", keys.Take(max)) + $", … and {keys.Count - max} more";
}

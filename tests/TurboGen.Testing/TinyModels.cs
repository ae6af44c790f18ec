using System.Text.Json;
using TurboGen.Graphs;
using TurboGen.Text;

namespace TurboGen.Testing;

/// <summary>The ONNX export contracts the engine must accept (MODEL-CONTRACT §2).</summary>
public enum TinyFlavor
{
    /// <summary>Optimum ≥ 1.24: int64 ids, rank-0 float timestep, <c>latent_parameters</c>, weights in <c>model.onnx_data</c>.</summary>
    OptimumNew,
    /// <summary>Optimum &lt; 1.24: int64 ids, int64 [B] timestep, <c>latent_sample</c>, weights inline.</summary>
    OptimumOld,
    /// <summary>Olive/onnxruntime: int32 ids on text_encoder, float [1] timestep, <c>model.onnx.data</c>; SD family uses fp16 I/O.</summary>
    Olive,
}

/// <summary>Which family a tiny model imitates.</summary>
public enum TinyFamily { SdxlTurbo, SdTurbo }

/// <summary>
/// Writes tiny but real model folders with exactly the I/O names, dtypes and ranks of the real exports, so the
/// engine is tested end to end without downloading weights. Each network computes something shape-correct from
/// seeded weights: embeddings and residual layers in the text encoders, convolutions in the UNet with the text
/// condition mixed in by a linear layer (so prompt, seed and strength all change the output), a convolutional
/// VAE. Tokenizer files are generated from the real CLIP vocabulary in tests/data/golden/tokenizer.
/// </summary>
public static class TinyModels
{
    public const int TextDim1 = 32, TextDim2 = 40, ProjDim = 32, SdTextDim = 32, Layers1 = 3, Layers2 = 4;
    private const int Vocab = 49408, Seq = 77, Hidden = 8;

    /// <summary>Creates (or reuses, per process) a tiny model folder under the temp directory.</summary>
    public static string Get(TinyFamily family, TinyFlavor flavor, bool withTinyVae = true)
    {
        lock (Cache)
        {
            var key = (family, flavor, withTinyVae);
            if (!Cache.TryGetValue(key, out string? dir) || !Directory.Exists(dir))
            {
                dir = Path.Combine(Path.GetTempPath(), $"turbogen-tiny-{family}-{flavor}-{Environment.ProcessId}-{Guid.NewGuid():N}");
                TestPaths.DeleteAtExit(dir);
                Write(dir, family, flavor);
                if (withTinyVae)
                {
                    WriteTinyVae(Path.Combine(dir, "taesd"), seed: 77);
                }
                Cache[key] = dir;
            }
            return dir;
        }
    }

    private static readonly Dictionary<(TinyFamily, TinyFlavor, bool), string> Cache = new();

    /// <summary>The faulty model's UNet fails inside ONNX Runtime at every denoising step whose timestep is below this.</summary>
    public const float FaultBelowTimestep = 300;

    /// <summary>
    /// A tiny SDXL-Turbo model (Optimum ≥ 1.24, with a tiny VAE) whose UNet fails on demand, inside ONNX Runtime: a step
    /// with a timestep below <see cref="FaultBelowTimestep"/> gathers out of bounds. With the trailing spacing of the turbo
    /// schedulers, 1–3 steps (timesteps 999, 749/499, 666/333) run normally and 4 or more fail mid-run, after 3 good UNet runs.
    /// </summary>
    public static string GetFaulty()
    {
        lock (Cache)
        {
            if (_faulty is null || !Directory.Exists(_faulty))
            {
                string dir = Path.Combine(Path.GetTempPath(), $"turbogen-tiny-faulty-{Environment.ProcessId}-{Guid.NewGuid():N}");
                TestPaths.DeleteAtExit(dir);
                Write(dir, TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew, faultBelowTimestep: FaultBelowTimestep);
                WriteTinyVae(Path.Combine(dir, "taesd"), seed: 77);
                _faulty = dir;
            }
            return _faulty;
        }
    }

    private static string? _faulty;

    /// <summary>
    /// A tiny Optimum-layout model whose UNet also takes ControlNet residuals (<c>down_block_additional_residual_i</c>,
    /// <c>mid_block_additional_residual</c>) in the layout of <see cref="TinyControlNets"/>, created once per process.
    /// </summary>
    public static string GetControlled(TinyFamily family)
    {
        lock (Cache)
        {
            if (!ControlledCache.TryGetValue(family, out string? dir) || !Directory.Exists(dir))
            {
                dir = Path.Combine(Path.GetTempPath(), $"turbogen-tiny-{family}-controlled-{Environment.ProcessId}-{Guid.NewGuid():N}");
                TestPaths.DeleteAtExit(dir);
                Write(dir, family, TinyFlavor.OptimumNew, controlNetResiduals: true);
                ControlledCache[family] = dir;
            }
            return dir;
        }
    }

    private static readonly Dictionary<TinyFamily, string> ControlledCache = new();

    /// <summary>Writes a complete model folder (model_index.json, scheduler, tokenizer(s), text encoder(s), unet, VAE encoder/decoder).</summary>
    /// <param name="controlNetResiduals">Give the UNet the ControlNet residual inputs of <see cref="TinyControlNets"/>' layout.</param>
    public static void Write(string dir, TinyFamily family, TinyFlavor flavor, int seed = 1234, float? faultBelowTimestep = null, bool controlNetResiduals = false)
    {
        Directory.CreateDirectory(dir);
        bool xl = family == TinyFamily.SdxlTurbo;
        var rng = new SeededWeights(seed);
        string dataName = flavor switch { TinyFlavor.OptimumNew => "model.onnx_data", TinyFlavor.Olive => "model.onnx.data", _ => "" };
        bool fp16Io = flavor == TinyFlavor.Olive && !xl;

        File.WriteAllText(Path.Combine(dir, "model_index.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_class_name"] = xl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline",
            ["_diffusers_version"] = "0.26.3",
            ["force_zeros_for_empty_prompt"] = true,
        }));
        Directory.CreateDirectory(Path.Combine(dir, "scheduler"));
        File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), SchedulerJson(xl ? "EulerAncestralDiscreteScheduler" : "EulerDiscreteScheduler"));

        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer"), xl ? "<|endoftext|>" : "!");
        var idsType1 = flavor == TinyFlavor.Olive ? ElementType.Int32 : ElementType.Int64;
        if (xl)
        {
            ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer_2"), "!");
            Save(TextEncoder(rng, TextDim1, Layers1, idsType1, withHiddenStates: true, projection: null, fp16Io), dir, "text_encoder", "");
            Save(TextEncoder(rng, TextDim2, Layers2, ElementType.Int64, withHiddenStates: true, projection: ProjDim, fp16Io), dir, "text_encoder_2", dataName);
        }
        else
        {
            Save(TextEncoder(rng, SdTextDim, Layers1, idsType1, withHiddenStates: false, projection: null, fp16Io), dir, "text_encoder", "");
        }
        int crossDim = xl ? TextDim1 + TextDim2 : SdTextDim;
        Save(Unet(rng, crossDim, xl ? ProjDim : null, flavor, fp16Io, faultBelowTimestep, controlNetResiduals), dir, "unet", dataName);
        WriteConfig(dir, "unet", new() { ["_class_name"] = "UNet2DConditionModel", ["sample_size"] = 64, ["cross_attention_dim"] = crossDim });
        Save(VaeDecoder(rng, fp16Io, "latent_sample"), dir, "vae_decoder", "");
        Save(VaeEncoder(rng, flavor == TinyFlavor.OptimumNew ? "latent_parameters" : "latent_sample", fp16Io), dir, "vae_encoder", "");
        var vaeConfig = new Dictionary<string, object> { ["_class_name"] = "AutoencoderKL", ["scaling_factor"] = xl ? 0.13025 : 0.18215, ["force_upcast"] = xl };
        WriteConfig(dir, "vae_decoder", vaeConfig);
        WriteConfig(dir, "vae_encoder", vaeConfig);
    }

    /// <summary>A tiny TAESD-like decoder folder (<c>vae_decoder/model.onnx</c> + AutoencoderTiny config, output in [-1,1]).</summary>
    public static void WriteTinyVae(string dir, int seed)
    {
        var rng = new SeededWeights(seed);
        Save(TinyVaeDecoder(rng), dir, "vae_decoder", "");
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"_class_name": "AutoencoderTiny", "scaling_factor": 1.0}""");
    }

    public static string SchedulerJson(string className) => $$"""
        {"_class_name": "{{className}}", "_diffusers_version": "0.26.3", "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear", "num_train_timesteps": 1000,
         "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false, "skip_prk_steps": true,
         "steps_offset": 1, "timestep_spacing": "trailing", "trained_betas": null}
        """;

    private static void WriteConfig(string dir, string component, Dictionary<string, object> config) =>
        File.WriteAllText(Path.Combine(dir, component, "config.json"), JsonSerializer.Serialize(config));

    private static void Save(GraphBuilder g, string dir, string component, string dataName)
    {
        string path = Path.Combine(dir, component, "model.onnx");
        if (dataName.Length > 0) g.Save(path, dataName, externalThreshold: 256);
        else g.Save(path);
    }

    // ---- networks -------------------------------------------------------------------------------

    private static (GraphValue Value, ElementType Declared) FloatIn(GraphBuilder g, string name, bool fp16, params Dim[] shape)
    {
        var type = fp16 ? ElementType.Float16 : ElementType.Float;
        var v = g.Input(name, type, shape);
        return (fp16 ? g.Cast(v, ElementType.Float) : v, type);
    }

    private static void FloatOut(GraphBuilder g, GraphValue value, string name, bool fp16, params Dim[] shape)
    {
        g.Output(fp16 ? g.Cast(value, ElementType.Float16) : value, name, fp16 ? ElementType.Float16 : ElementType.Float, shape);
    }

    /// <summary>CLIP-like encoder: token + position embedding, L residual tanh layers, final LayerNorm, EOS pooling (argmax of ids).</summary>
    private static GraphBuilder TextEncoder(SeededWeights rng, int dim, int layers, ElementType idsType, bool withHiddenStates, int? projection, bool fp16Io)
    {
        var g = new GraphBuilder("text_encoder");
        var ids = g.Input("input_ids", idsType, "batch_size", Seq);
        var ids64 = idsType == ElementType.Int64 ? ids : g.Cast(ids, ElementType.Int64);
        var tok = g.Weight("text_model.embeddings.token_embedding.weight", rng.Normal(Vocab * dim, 0.5f), Vocab, dim);
        var pos = g.Weight("text_model.embeddings.position_embedding.weight", rng.Normal(Seq * dim, 0.1f), Seq, dim);
        var h = g.Add(g.Op("Gather", [tok, ids64], ("axis", 0L)), pos);
        var hidden = new List<GraphValue> { h };
        for (int l = 0; l < layers; l++)
        {
            using var _ = g.Scope($"text_model.encoder.layers.{l}");
            var w = g.Weight($"text_model.encoder.layers.{l}.mlp.fc1.weight", rng.Normal(dim * dim, 1f / MathF.Sqrt(dim)), dim, dim);
            h = g.Add(h, g.Tanh(g.MatMul(h, w)));
            hidden.Add(h);
        }
        var last = g.Op("LayerNormalization", [h, g.Const(Enumerable.Repeat(1f, dim).ToArray(), dim), g.Const(new float[dim], dim)], ("axis", -1L), ("epsilon", 1e-5f));
        // pooled = last[b, argmax(ids[b])]
        var argmax = g.Op("ArgMax", [ids64], ("axis", 1L), ("keepdims", 0L));
        var pooled = g.Op("GatherND", [last, g.Unsqueeze(argmax, 1)], ("batch_dims", 1L));   // [B, dim]
        if (projection is int p)
        {
            var pw = g.Weight("text_projection.weight", rng.Normal(dim * p, 1f / MathF.Sqrt(dim)), dim, p);
            FloatOut(g, g.MatMul(pooled, pw), "text_embeds", fp16Io, "batch_size", p);
        }
        FloatOut(g, last, "last_hidden_state", fp16Io, "batch_size", Seq, dim);
        if (projection is null)
        {
            FloatOut(g, pooled, "pooler_output", fp16Io, "batch_size", dim);
        }
        if (withHiddenStates)
        {
            for (int i = 0; i < hidden.Count; i++)
            {
                FloatOut(g, hidden[i], $"hidden_states.{i}", fp16Io, "batch_size", Seq, dim);
            }
        }
        return g;
    }

    /// <summary>Conv-in, timestep and text/time conditioning mixed in by linear layers, SiLU, conv-out → ε.</summary>
    private static GraphBuilder Unet(SeededWeights rng, int crossDim, int? pooledDim, TinyFlavor flavor, bool fp16Io, float? faultBelowTimestep = null, bool controlNetResiduals = false)
    {
        var g = new GraphBuilder("unet");
        var (sample, _) = FloatIn(g, "sample", fp16Io, "batch_size", 4, "height", "width");
        GraphValue t;
        switch (flavor)
        {
            case TinyFlavor.OptimumNew:
                t = FloatIn(g, "timestep", fp16Io).Value;
                break;
            case TinyFlavor.OptimumOld:
                t = g.Cast(g.Input("timestep", ElementType.Int64, "steps"), ElementType.Float);
                break;
            default:
                t = FloatIn(g, "timestep", fp16Io, 1).Value;
                break;
        }
        var (ehs, _) = FloatIn(g, "encoder_hidden_states", fp16Io, "batch_size", "sequence_length", crossDim);
        var tEmb = g.Mul(g.Reshape(g.Div(t, g.Const(1000f)), -1, 1, 1, 1), g.Const(rng.Normal(Hidden, 1f), 1, Hidden, 1, 1));
        var h = g.Conv(sample, g.Weight("conv_in.weight", rng.Normal(Hidden * 4 * 9, 1f / 6f), Hidden, 4, 3, 3), g.Weight("conv_in.bias", rng.Normal(Hidden, 0.02f), Hidden), pad: 1);
        var text = g.ReduceMean(ehs, [1], keepDims: false);                          // [B, crossDim]
        var cond = g.MatMul(text, g.Weight("text_proj.weight", rng.Normal(crossDim * Hidden, 1f / MathF.Sqrt(crossDim)), crossDim, Hidden));
        if (pooledDim is int p)
        {
            var (te, _) = FloatIn(g, "text_embeds", fp16Io, "batch_size", p);
            var (ti, _) = FloatIn(g, "time_ids", fp16Io, "batch_size", 6);
            cond = g.Add(cond, g.MatMul(te, g.Weight("add_embedding.weight", rng.Normal(p * Hidden, 1f / MathF.Sqrt(p)), p, Hidden)));
            cond = g.Add(cond, g.MatMul(g.Div(ti, g.Const(512f)), g.Weight("time_ids.weight", rng.Normal(6 * Hidden, 0.4f), 6, Hidden)));
        }
        if (controlNetResiduals)
        {
            h = AddResiduals(g, h);
        }
        h = g.Add(g.Add(h, g.Reshape(cond, -1, Hidden, 1, 1)), tEmb);
        h = g.Mul(h, g.Sigmoid(h));   // SiLU
        var outSample = g.Conv(h, g.Weight("conv_out.weight", rng.Normal(4 * Hidden * 9, 1f / MathF.Sqrt(Hidden * 9)), 4, Hidden, 3, 3), g.Weight("conv_out.bias", rng.Normal(4, 0.02f), 4), pad: 1);
        // ε ≈ the scaled input plus a small prompt/seed-dependent correction, so x0 = x − σ·ε stays O(1) like a real model's.
        outSample = g.Add(sample, g.Mul(outSample, g.Const(0.05f)));
        if (faultBelowTimestep is float fault)
        {
            // index = (t < fault) × 10⁶ into a one-element table: 0 adds nothing; out of bounds fails the run.
            var below = g.Cast(g.Op("Less", [t, g.Const(fault)]), ElementType.Float);
            var index = g.Cast(g.Mul(below, g.Const(1_000_000f)), ElementType.Int64);
            outSample = g.Add(outSample, g.Op("Gather", [g.Const([0f], 1), index], ("axis", 0L)));
        }
        FloatOut(g, outSample, "out_sample", fp16Io, "batch_size", 4, "height", "width");
        return g;
    }

    /// <summary>
    /// The ControlNet residual inputs with the real names and shapes of <see cref="TinyControlNets"/>' layout: residual 0 (the
    /// conv_in skip, <see cref="Hidden"/> channels at full resolution) is added to the features; the others contribute their
    /// spatial-and-channel mean, so every residual changes the prediction.
    /// </summary>
    private static GraphValue AddResiduals(GraphBuilder g, GraphValue h)
    {
        var (channels, factors) = TinyControlNets.ResidualLayout();
        for (int i = 0; i < channels.Count; i++)
        {
            bool mid = i == channels.Count - 1;
            var (dh, dw) = TurboGen.Graphs.Architectures.Unet.UnetConfig.ResidualDims(factors[i]);
            var r = g.Input(mid ? "mid_block_additional_residual" : $"down_block_additional_residual_{i}", ElementType.Float, "batch_size", channels[i], dh, dw);
            h = i == 0 ? g.Add(h, r) : g.Add(h, g.Mul(g.ReduceMean(r, [1, 2, 3], keepDims: true), g.Const(0.5f)));
        }
        return h;
    }

    /// <summary>
    /// Full VAE decoder: 1×1 conv with the pseudo-inverse of the encoder's projection, nearest ×8 upsampling, a 3×3
    /// conv close to identity. decode(encode(x)) ≈ x blurred to 8×8 blocks, so image-to-image behaves like the real thing.
    /// </summary>
    private static GraphBuilder VaeDecoder(SeededWeights rng, bool fp16Io, string inputName)
    {
        var g = new GraphBuilder("vae_decoder");
        var (z, _) = FloatIn(g, inputName, fp16Io, "batch_size", 4, "latent_height", "latent_width");
        var (a, _) = EncoderProjection();
        var h = g.Conv(z, g.Weight("post_quant_conv.weight", PseudoInverse(a), 3, 4, 1, 1), null);
        h = g.Op("Resize", [h, GraphValue.None, g.Const([1f, 1f, 8f, 8f], 4)], ("mode", "nearest"));
        var k = rng.Normal(3 * 3 * 9, 0.03f);
        for (int c = 0; c < 3; c++) k[(c * 3 + c) * 9 + 4] += 1f;   // identity centre tap
        h = g.Conv(h, g.Weight("conv_out.weight", k, 3, 3, 3, 3), g.Weight("conv_out.bias", rng.Normal(3, 0.02f), 3), pad: 1);
        FloatOut(g, h, "sample", fp16Io, "batch_size", 3, "height", "width");
        return g;
    }

    /// <summary>TAESD-like decoder: tanh(z/3)·3 clamp, 1×1 conv, nearest ×8, 3×3 conv, tanh → [-1,1].</summary>
    private static GraphBuilder TinyVaeDecoder(SeededWeights rng)
    {
        var g = new GraphBuilder("tiny_vae_decoder");
        var z = g.Input("latent_sample", ElementType.Float, "batch_size", 4, "latent_height", "latent_width");
        var h = g.Mul(g.Tanh(g.Div(z, g.Const(3f))), g.Const(3f));
        h = g.Conv(h, g.Weight("decoder.layers.0.weight", rng.Normal(Hidden * 4, 0.5f), Hidden, 4, 1, 1), g.Weight("decoder.layers.0.bias", rng.Normal(Hidden, 0.02f), Hidden));
        h = g.Op("Resize", [h, GraphValue.None, g.Const([1f, 1f, 8f, 8f], 4)], ("mode", "nearest"));
        h = g.Conv(h, g.Weight("decoder.layers.1.weight", rng.Normal(3 * Hidden * 9, 1f / MathF.Sqrt(Hidden * 9)), 3, Hidden, 3, 3), g.Weight("decoder.layers.1.bias", rng.Normal(3, 0.02f), 3), pad: 1);
        g.Output(g.Tanh(h), "sample", ElementType.Float, "batch_size", 3, "height", "width");
        return g;
    }

    /// <summary>The encoder's 3→4 projection A (fixed, well conditioned) and its bias.</summary>
    /// <remarks>Scaled so that latents × scaling_factor have about unit spread, like a real VAE's.</remarks>
    private static (float[] A, float[] Bias) EncoderProjection() => (
        [4.5f, 1.5f, -1.0f,
         -2.0f, 4.0f, 1.5f,
         1.0f, -1.5f, 4.5f,
         2.5f, 2.5f, 2.5f], [0.25f, -0.25f, 0.1f, 0f]);

    /// <summary>(AᵀA)⁻¹Aᵀ for a 4×3 A, laid out as a [3,4] 1×1 conv weight, divided by nothing (the pipeline already unscales latents).</summary>
    private static float[] PseudoInverse(float[] a)
    {
        var ata = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int r = 0; r < 4; r++) ata[i, j] += a[r * 3 + i] * a[r * 3 + j];
        double det = ata[0, 0] * (ata[1, 1] * ata[2, 2] - ata[1, 2] * ata[2, 1]) - ata[0, 1] * (ata[1, 0] * ata[2, 2] - ata[1, 2] * ata[2, 0]) + ata[0, 2] * (ata[1, 0] * ata[2, 1] - ata[1, 1] * ata[2, 0]);
        var inv = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                int i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
                inv[i, j] = (ata[i1, j1] * ata[i2, j2] - ata[i1, j2] * ata[i2, j1]) / det;
            }
        var result = new float[3 * 4];
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 4; r++)
            {
                double v = 0;
                for (int k = 0; k < 3; k++) v += inv[i, k] * a[r * 3 + k];
                result[i * 4 + r] = (float)v;
            }
        return result;
    }

    /// <summary>8×8 average pooling then the 1×1 projection A to the latent mean (and a small constant logvar for <c>latent_parameters</c>).</summary>
    private static GraphBuilder VaeEncoder(SeededWeights rng, string outputName, bool fp16Io)
    {
        var g = new GraphBuilder("vae_encoder");
        var (x, _) = FloatIn(g, "sample", fp16Io, "batch_size", 3, "height", "width");
        var h = g.Op("AveragePool", [x], ("kernel_shape", new long[] { 8, 8 }), ("strides", new long[] { 8, 8 }));
        var (a, bias) = EncoderProjection();
        bool parameters = outputName == "latent_parameters";
        int outC = parameters ? 8 : 4;
        var w = new float[outC * 3];
        var b = new float[outC];
        Array.Copy(a, w, a.Length);
        Array.Copy(bias, b, bias.Length);
        if (parameters)
        {
            var noise = rng.Normal(4 * 3, 0.05f);
            Array.Copy(noise, 0, w, 12, 12);
            for (int i = 4; i < 8; i++) b[i] = -7f;              // std ≈ 0.03
        }
        h = g.Conv(h, g.Weight("quant_conv.weight", w, outC, 3, 1, 1), g.Weight("quant_conv.bias", b, outC));
        FloatOut(g, h, outputName, fp16Io, "batch_size", outC, "latent_height", "latent_width");
        return g;
    }
}

/// <summary>Deterministic weights for fixtures (xorshift + Box–Muller; independent of the engine's noise generator).</summary>
public sealed class SeededWeights(int seed)
{
    private ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;

    private double NextUniform()
    {
        _state ^= _state << 13;
        _state ^= _state >> 7;
        _state ^= _state << 17;
        return ((_state >> 11) + 0.5) / (1UL << 53);
    }

    public float[] Normal(int count, float std)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = NextUniform(), u2 = NextUniform();
            v[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2) * std);
        }
        return v;
    }
}

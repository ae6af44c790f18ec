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

    /// <summary>Feature channels inside the tiny UNet and TAESD decoder.</summary>
    internal const int Hidden = 8;

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
            Save(TinyTextEncoder.Build(rng, TextDim1, Layers1, idsType1, withHiddenStates: true, projection: null, fp16Io), dir, "text_encoder", "");
            Save(TinyTextEncoder.Build(rng, TextDim2, Layers2, ElementType.Int64, withHiddenStates: true, projection: ProjDim, fp16Io), dir, "text_encoder_2", dataName);
        }
        else
        {
            Save(TinyTextEncoder.Build(rng, SdTextDim, Layers1, idsType1, withHiddenStates: false, projection: null, fp16Io), dir, "text_encoder", "");
        }
        int crossDim = xl ? TextDim1 + TextDim2 : SdTextDim;
        Save(TinyUnet.Build(rng, crossDim, xl ? ProjDim : null, flavor, fp16Io, faultBelowTimestep, controlNetResiduals), dir, "unet", dataName);
        WriteConfig(dir, "unet", new() { ["_class_name"] = "UNet2DConditionModel", ["sample_size"] = 64, ["cross_attention_dim"] = crossDim });
        Save(TinyVae.Decoder(rng, fp16Io, "latent_sample"), dir, "vae_decoder", "");
        Save(TinyVae.Encoder(rng, flavor == TinyFlavor.OptimumNew ? "latent_parameters" : "latent_sample", fp16Io), dir, "vae_encoder", "");
        var vaeConfig = new Dictionary<string, object> { ["_class_name"] = "AutoencoderKL", ["scaling_factor"] = xl ? 0.13025 : 0.18215, ["force_upcast"] = xl };
        WriteConfig(dir, "vae_decoder", vaeConfig);
        WriteConfig(dir, "vae_encoder", vaeConfig);
    }

    /// <summary>A tiny TAESD-like decoder folder (<c>vae_decoder/model.onnx</c> + AutoencoderTiny config, output in [-1,1]).</summary>
    public static void WriteTinyVae(string dir, int seed)
    {
        var rng = new SeededWeights(seed);
        Save(TinyVae.TinyDecoder(rng), dir, "vae_decoder", "");
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

    // ---- float I/O of the networks (fp16 at the boundary for the Olive SD flavour) ----------------

    internal static (GraphValue Value, ElementType Declared) FloatIn(GraphBuilder g, string name, bool fp16, params Dim[] shape)
    {
        var type = fp16 ? ElementType.Float16 : ElementType.Float;
        var v = g.Input(name, type, shape);
        return (fp16 ? g.Cast(v, ElementType.Float) : v, type);
    }

    internal static void FloatOut(GraphBuilder g, GraphValue value, string name, bool fp16, params Dim[] shape)
    {
        g.Output(fp16 ? g.Cast(value, ElementType.Float16) : value, name, fp16 ? ElementType.Float16 : ElementType.Float, shape);
    }
}

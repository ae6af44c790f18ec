using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.Json;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Storage;

namespace TurboGen.Building;

/// <summary>
/// Writes <see cref="CheckpointComponents"/> as an Optimum-layout ONNX folder that <see cref="TurboModel.Load"/> (and any
/// ONNX tool) reads exactly like an <c>optimum-cli export onnx</c> output.
/// <para>
/// How it works: the configs are parsed and checked against each other first (text widths vs the UNet's
/// <c>cross_attention_dim</c>, pooled width vs <c>text_embeds</c>, latent channels), so a mismatched checkpoint fails
/// before any work. Then one component at a time: the architecture builder makes the graph (fp32, opset 17; standard ONNX
/// ops with the default <see cref="GraphKernels.Standard"/>, while <see cref="GraphKernels.Fused"/> and the int8 kernels add
/// ONNX Runtime's <c>com.microsoft</c> contrib ops; Optimum I/O: <c>text_encoder</c> int64 <c>input_ids</c> with <c>hidden_states.*</c> for SDXL,
/// <c>text_encoder_2</c> with <c>text_embeds</c> and <c>hidden_states.*</c>, <c>unet</c> with a rank-0 float
/// <c>timestep</c> (Optimum ≥ 1.24), <c>vae_decoder</c>, <c>vae_encoder</c> with <c>latent_parameters</c>), and
/// <see cref="GraphBuilder.Save"/> streams the weights from the memory-mapped checkpoint (converted to fp32 on the fly)
/// into <c>model.onnx_data</c>; the graph object is dropped before the next component, so no second copy of the weights
/// is ever held. With <see cref="BuildPrecision.Float16"/> (for GPU providers) the weights are written as float16 (F16
/// checkpoint tensors copied as they are) and the graphs compute in float16, with float32 inputs/outputs and float32
/// softmax, normalisation and timestep embedding (see <see cref="GraphBuilder.FloatType"/>); the SDXL AutoencoderKL stays
/// float32 unless its config says <c>force_upcast: false</c> (the fp16-fix VAE), as diffusers' SDXL pipelines do. Unlike Optimum, every component (not just the large ones) keeps its weights in <c>model.onnx_data</c>,
/// which keeps building and loading memory flat. Each component folder gets its config.json (the VAE configs always carry
/// <c>scaling_factor</c> and <c>force_upcast</c>); <c>scheduler/</c>, <c>tokenizer(_2)/</c> and <c>model_index.json</c> are
/// copied, and <see cref="BuildInfoFile"/> records the builder version and content hash. Everything is written into a
/// temporary sibling folder renamed at the end, so a half-built model is never visible. Cancellation is checked between
/// components.
/// </para>
/// </summary>
public static class OnnxModelBuilder
{
    /// <summary>Bump whenever the built graphs change (it is part of the built-model cache key).</summary>
    public const int BuilderVersion = 1;

    /// <summary>The ONNX opset of every built graph.</summary>
    public const int Opset = 17;

    /// <summary>External data file name next to each <c>model.onnx</c> (Optimum's).</summary>
    public const string DataFileName = "model.onnx_data";

    /// <summary>A small JSON file written into each built folder: builder version, content hash, source, per-component timings.</summary>
    public const string BuildInfoFile = "turbogen_build.json";

    /// <summary>
    /// Builds the ONNX folder at <paramref name="outputDir"/>, which must not exist or be empty.
    /// <paramref name="progress"/> receives one line per stage ("unet: writing 9836 MB of weights").
    /// </summary>
    /// <exception cref="ModelLoadException">The checkpoint is incomplete or inconsistent (names the component and the problem).</exception>
    /// <exception cref="InvalidRequestException">The output folder exists and is not empty.</exception>
    public static void Build(CheckpointComponents components, string outputDir, IProgress<string>? progress = null, CancellationToken cancellationToken = default,
        BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null, bool controlNetResiduals = false)
    {
        ArgumentNullException.ThrowIfNull(components);
        outputDir = Path.GetFullPath(outputDir);
        if (File.Exists(outputDir) || (Directory.Exists(outputDir) && Directory.EnumerateFileSystemEntries(outputDir).Any()))
        {
            throw new InvalidRequestException("output", $"The output folder {outputDir} already exists and is not empty; choose a new folder.");
        }
        if (!AtomicDirectory.Create(outputDir, temp => WriteModel(components, temp, progress, cancellationToken, precision, kernels, controlNetResiduals)))
        {
            throw new InvalidRequestException("output", $"The output folder {outputDir} was created by someone else while building.");
        }
    }

    /// <summary>Writes every component of the model into <paramref name="dir"/> (an empty folder).</summary>
    internal static void WriteModel(CheckpointComponents c, string dir, IProgress<string>? progress, CancellationToken ct,
        BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null, bool controlNetResiduals = false)
    {
        kernels ??= GraphKernels.Standard;
        if (kernels.Int8MatMul && precision != BuildPrecision.Float32)
        {
            // The int8 path quantizes float32 activations on VNNI CPUs; float16 builds are for GPU providers.
            throw new InvalidRequestException("kernels", $"--kernels {kernels.Name} is a CPU float32 path and cannot be combined with a {precision.ShortName()} build.");
        }
        var total = Stopwatch.StartNew();
        bool xl = c.Family == ModelFamily.Sdxl;
        var (te1, te2, unet, vae) = Validate(c); // every config and every component's keys and shapes, before any weight is written

        var report = new JsonObject();
        WriteComponent(dir, "text_encoder", c.TextEncoderConfigJson, progress, ct, report, () => ClipTextModel.Build(te1, c.TextEncoder,
            new ClipTextBuildOptions { WithProjection = false, OutputHiddenStates = xl, InputIdsType = ElementType.Int64, Precision = precision, Kernels = kernels }));
        if (te2 is not null)
        {
            WriteComponent(dir, "text_encoder_2", c.TextEncoder2ConfigJson!, progress, ct, report, () => ClipTextModel.Build(te2, c.TextEncoder2!,
                new ClipTextBuildOptions { WithProjection = true, OutputHiddenStates = true, InputIdsType = ElementType.Int64, Precision = precision, Kernels = kernels }));
        }
        WriteComponent(dir, "unet", c.UnetConfigJson, progress, ct, report, () => Unet2DConditionModel.Build(unet, c.Unet,
            new UnetBuildOptions { Timestep = TimestepInput.ScalarFloat, Precision = precision, Kernels = kernels, ControlNetResiduals = controlNetResiduals }));
        string vaeConfig = VaeConfigForOnnx(c.VaeConfigJson, vae);
        var vaeOptions = new AutoencoderKlBuildOptions { Precision = VaePrecision(precision, c.Family, vaeConfig), Kernels = kernels };
        WriteComponent(dir, "vae_decoder", vaeConfig, progress, ct, report, () => AutoencoderKl.BuildDecoder(vae, c.Vae, vaeOptions));
        WriteComponent(dir, "vae_encoder", vaeConfig, progress, ct, report, () => AutoencoderKl.BuildEncoder(vae, c.Vae, vaeOptions with { EncoderOutput = VaeEncoderOutput.LatentParameters }));

        if (c.TinyVaeDir is not null)
        {
            // SDXS's bundled AutoencoderTiny: taesd/vae_decoder, where the CLI's --tiny-vae and the server look for a bundled tiny VAE.
            TinyVaeBuilder.WriteInto(c.TinyVaeDir, Path.Combine(dir, "taesd"), progress, ct, precision);
        }
        ct.ThrowIfCancellationRequested();
        CopyTokenizer(c, c.TokenizerDir, Path.Combine(dir, "tokenizer"));
        if (xl)
        {
            CopyTokenizer(c, c.Tokenizer2Dir, Path.Combine(dir, "tokenizer_2"));
        }
        Directory.CreateDirectory(Path.Combine(dir, "scheduler"));
        File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), c.SchedulerConfigJson);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), c.ModelIndexJson ?? DefaultModelIndex(xl));

        var info = new JsonObject
        {
            ["builder"] = "TurboGen",
            ["builder_version"] = BuilderVersion,
            ["content_hash"] = c.ContentHash,
            ["source"] = c.Source,
            ["family"] = xl ? "sdxl" : "sd",
            ["opset"] = Opset,
            ["precision"] = precision.ShortName(),
            ["kernels"] = kernels.Name,
            ["controlnet_residuals"] = controlNetResiduals,
            ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 3),
            ["components"] = report,
        };
        BuildManifest.Write(dir, info); // last: the list of every file written, checked before each use of the build
        progress?.Report($"built {c.Source} in {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// Everything <see cref="Build"/> checks before it writes anything: the configs (each parsed by one rule, a wrong field named with
    /// its file), whether the components fit together, and every component's tensor names and shapes against its config
    /// (<see cref="CheckpointPreflight"/>). Reads only configs and safetensors headers.
    /// </summary>
    /// <exception cref="ModelLoadException">The first config that cannot be read, or every mismatch found, naming the files.</exception>
    public static (ClipTextConfig TextEncoder, ClipTextConfig? TextEncoder2, UnetConfig Unet, AutoencoderKlConfig Vae) Validate(CheckpointComponents c)
    {
        ArgumentNullException.ThrowIfNull(c);
        try
        {
            return ValidateConfigs(c);
        }
        catch (Exception e) when (e is ArithmeticException or ArgumentException or IndexOutOfRangeException or InvalidOperationException
            or KeyNotFoundException or FormatException)
        {
            // Each config rule names its field; a combination no rule foresaw still names the checkpoint instead of crashing.
            throw new ModelLoadException(c.Source, $"Checkpoint {c.Source}: its configs describe a model that cannot be built ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    private static (ClipTextConfig TextEncoder, ClipTextConfig? TextEncoder2, UnetConfig Unet, AutoencoderKlConfig Vae) ValidateConfigs(CheckpointComponents c)
    {
        var te1 = ClipTextConfig.FromJson(c.TextEncoderConfigJson, ConfigSource(c, "text_encoder"));
        ClipTextConfig? te2 = null;
        if (c.Family == ModelFamily.Sdxl)
        {
            if (c.TextEncoder2 is null || c.TextEncoder2ConfigJson is null)
            {
                throw new ModelLoadException(c.Source, $"SDXL checkpoint {c.Source} has no text_encoder_2 weights/config.");
            }
            te2 = ClipTextConfig.FromJson(c.TextEncoder2ConfigJson, ConfigSource(c, "text_encoder_2"));
        }
        var unet = UnetConfig.FromJson(c.UnetConfigJson, ConfigSource(c, "unet"));
        var vae = AutoencoderKlConfig.FromJson(c.VaeConfigJson, ConfigSource(c, "vae"));
        te1.Validate(ConfigSource(c, "text_encoder"));
        te2?.Validate(ConfigSource(c, "text_encoder_2"));
        vae.Validate(ConfigSource(c, "vae"));
        CheckCompatible(c, te1, te2, unet, vae);
        CheckpointPreflight.Check(c, te1, te2, unet, vae);
        return (te1, te2, unet, vae);
    }

    /// <summary>A component's config as messages name it: the file in a diffusers folder, else "{single file} unet config".</summary>
    private static string ConfigSource(CheckpointComponents c, string component) =>
        Directory.Exists(c.Source) ? Path.Combine(c.Source, component, "config.json") : $"{c.Source} {component} config";

    /// <summary>Builds one graph, writes <c>name/model.onnx</c> + <c>model.onnx_data</c> + <c>config.json</c>, and drops the graph.</summary>
    internal static void WriteComponent(string dir, string name, string configJson, IProgress<string>? progress, CancellationToken ct,
        JsonObject report, Func<GraphBuilder> build)
    {
        ct.ThrowIfCancellationRequested();
        TestHooks.PauseAt("build:" + name, progress);
        var sw = Stopwatch.StartNew();
        progress?.Report($"{name}: building the graph");
        var graph = build();
        if (graph.Opset != Opset)
        {
            throw new InvalidOperationException($"{name} graph uses opset {graph.Opset}, expected {Opset}.");
        }
        long bytes = graph.Initializers.Sum(i => i.Data.ByteLength);
        progress?.Report($"{name}: writing {bytes / (1024 * 1024)} MB of weights");
        string componentDir = Path.Combine(dir, name);
        graph.Save(Path.Combine(componentDir, "model.onnx"), DataFileName);
        File.WriteAllText(Path.Combine(componentDir, "config.json"), configJson);
        report[name] = new JsonObject
        {
            ["weight_bytes"] = bytes,
            ["precision"] = graph.FloatType == ElementType.Float16 ? "fp16" : "fp32",
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3),
        };
    }

    /// <summary>
    /// The precision of the AutoencoderKL graphs. diffusers' SDXL pipelines upcast a float16 VAE to float32 when its config
    /// says <c>force_upcast</c> (true unless stated otherwise), because the SDXL VAE overflows in float16 (MODEL-CONTRACT §5.3):
    /// so an SDXL VAE is float16 only when it says <c>force_upcast: false</c> (sdxl-vae-fp16-fix). The SD 1.x/2.x pipelines
    /// never upcast, so their VAE follows <paramref name="precision"/>.
    /// </summary>
    internal static BuildPrecision VaePrecision(BuildPrecision precision, ModelFamily family, string vaeConfigJson)
    {
        if (family != ModelFamily.Sdxl) return precision;
        bool forceUpcast = ConfigReader.Parse(vaeConfigJson, "VAE config", "vae config").Bool("force_upcast", true);
        return forceUpcast ? BuildPrecision.Float32 : precision;
    }

    /// <summary>The VAE config.json for vae_decoder/ and vae_encoder/: the source's, with <c>scaling_factor</c> and <c>force_upcast</c> always present.</summary>
    private static string VaeConfigForOnnx(string sourceJson, AutoencoderKlConfig parsed)
    {
        var node = JsonNode.Parse(sourceJson)!.AsObject();
        if (node["scaling_factor"] is null) node["scaling_factor"] = parsed.ScalingFactor;
        if (node["force_upcast"] is null) node["force_upcast"] = true; // diffusers' AutoencoderKL default
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The components must fit together; every problem is listed in one error before anything is built.</summary>
    private static void CheckCompatible(CheckpointComponents c, ClipTextConfig te1, ClipTextConfig? te2, UnetConfig unet, AutoencoderKlConfig vae)
    {
        var problems = new List<string>();
        int textWidth = te1.HiddenSize + (te2?.HiddenSize ?? 0);
        if (textWidth != unet.CrossAttentionDim)
        {
            problems.Add(te2 is null
                ? $"text_encoder hidden_size {te1.HiddenSize} differs from unet cross_attention_dim {unet.CrossAttentionDim}"
                : $"text_encoder + text_encoder_2 hidden sizes {te1.HiddenSize} + {te2.HiddenSize} differ from unet cross_attention_dim {unet.CrossAttentionDim}");
        }
        if (te2 is not null)
        {
            if (!unet.HasTextTimeEmbedding)
            {
                problems.Add("an SDXL checkpoint (text_encoder_2) needs a unet with addition_embed_type \"text_time\"");
            }
            else if (Unet2DConditionModel.TextEmbedsWidth(unet, new UnetBuildOptions()) != te2.ProjectionDim)
            {
                problems.Add($"text_encoder_2 projection_dim {te2.ProjectionDim} differs from the unet's text_embeds width {Unet2DConditionModel.TextEmbedsWidth(unet, new UnetBuildOptions())}");
            }
        }
        else if (unet.HasTextTimeEmbedding)
        {
            problems.Add("the unet expects text_embeds/time_ids (SDXL) but there is no text_encoder_2");
        }
        // An inpainting UNet takes 2·latent + 1 channels: latents, mask, masked-image latents.
        bool inpainting = unet.InChannels == 2 * vae.LatentChannels + 1;
        if ((vae.LatentChannels != unet.InChannels && !inpainting) || vae.LatentChannels != unet.OutChannels)
        {
            problems.Add($"vae latent_channels {vae.LatentChannels} differs from unet in/out channels {unet.InChannels}/{unet.OutChannels} (an inpainting unet takes {2 * vae.LatentChannels + 1})");
        }
        if (problems.Count > 0)
        {
            throw new ModelLoadException(c.Source, $"The components of {c.Source} do not fit together: {string.Join("; ", problems)}.");
        }
    }

    private static void CopyTokenizer(CheckpointComponents c, string? source, string target)
    {
        string name = Path.GetFileName(target);
        if (source is null || !Directory.Exists(source))
        {
            throw new ModelLoadException(source ?? c.Source,
                $"{c.Source} provides no {name}/ folder (vocab.json, merges.txt, special_tokens_map.json); the built model needs one.");
        }
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }

    private static string DefaultModelIndex(bool xl) => new JsonObject
    {
        ["_class_name"] = xl ? "StableDiffusionXLPipeline" : "StableDiffusionPipeline",
        ["force_zeros_for_empty_prompt"] = xl,
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}

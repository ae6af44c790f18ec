using TurboGen.Configs;
using TurboGen.Imaging;
using TurboGen.Scheduling;
using TurboGen.Text;

namespace TurboGen.Runtime;

/// <summary>Options for <see cref="TurboModel.Load"/>.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Execution provider, threads, memory and scheduler override for every session of the model (defaults: CPU).</summary>
    public RuntimeOptions Runtime { get; init; } = new();

    /// <summary>A tiny VAE (TAESD/TAESDXL) folder: <c>vae_decoder/model.onnx</c> or <c>model.onnx</c>, optional <c>vae_encoder/</c> and <c>config.json</c>.</summary>
    public string? TinyVaePath { get; init; }

    /// <summary>Output range of the tiny VAE decoder when its folder does not say (config.json <c>_class_name: AutoencoderTiny</c> ⇒ [-1,1]).</summary>
    public ImageRange TinyVaeRange { get; init; } = ImageRange.MinusOneToOne;

    /// <summary>Skip loading the VAE encoder (text-to-image only; saves memory).</summary>
    public bool SkipVaeEncoder { get; init; }
}

/// <summary>
/// A loaded model: tokenizers, ONNX Runtime sessions for every component (created once), the scheduler config
/// and VAE facts. Reads an Optimum (<c>model.onnx</c> + <c>model.onnx_data</c>) or Olive/onnxruntime
/// (<c>model.onnx.data</c>) folder, with or without <c>model_index.json</c>. SDXL iff <c>text_encoder_2/</c> exists.
/// </summary>
public sealed class TurboModel : IDisposable
{
    private TurboModel(string path, ModelFamily family)
    {
        Path = path;
        Family = family;
    }

    /// <summary>The model folder (full path).</summary>
    public string Path { get; }

    /// <summary>SDXL when the folder has <c>text_encoder_2/</c>, else SD 2.x.</summary>
    public ModelFamily Family { get; }

    /// <summary>A stable identifier used in cache keys and metadata (folder name unless set by the loader).</summary>
    public string Id { get; init; } = "";

    /// <summary>The tokenizer of <see cref="TextEncoder"/> (<c>tokenizer/</c>).</summary>
    public ClipTokenizer Tokenizer { get; private set; } = null!;

    /// <summary>SDXL only: the tokenizer of <see cref="TextEncoder2"/> (<c>tokenizer_2/</c>); null for SD 2.x.</summary>
    public ClipTokenizer? Tokenizer2 { get; private set; }

    /// <summary>The first text encoder (<c>text_encoder/model.onnx</c>).</summary>
    public TextEncoder TextEncoder { get; private set; } = null!;

    /// <summary>SDXL only: the second text encoder (<c>text_encoder_2/model.onnx</c>), whose <c>text_embeds</c> are the pooled conditioning; null for SD 2.x.</summary>
    public TextEncoder? TextEncoder2 { get; private set; }

    /// <summary>The denoising UNet (<c>unet/model.onnx</c>).</summary>
    public Unet Unet { get; private set; } = null!;

    /// <summary>The full VAE decoder (<c>vae_decoder/model.onnx</c>): latents [B,4,h,w] → pixels [B,3,8h,8w] in [-1,1].</summary>
    public VaeDecoder VaeDecoder { get; private set; } = null!;

    /// <summary>The VAE encoder for image-to-image (<c>vae_encoder/model.onnx</c>); null when the folder has none or <see cref="ModelLoadOptions.SkipVaeEncoder"/> was set.</summary>
    public VaeEncoder? VaeEncoder { get; private set; }

    /// <summary>The tiny VAE decoder (TAESD/TAESDXL) when <see cref="ModelLoadOptions.TinyVaePath"/> was given; else null.</summary>
    public VaeDecoder? TinyVaeDecoder { get; private set; }

    /// <summary>
    /// The tiny VAE encoder (<c>vae_encoder/model.onnx</c> of the <see cref="ModelLoadOptions.TinyVaePath"/> folder, as the
    /// tiny VAE builder writes it) when there is one; image-to-image requests that decode with the tiny VAE encode with it.
    /// </summary>
    public VaeEncoder? TinyVaeEncoder { get; private set; }

    /// <summary>The value range of <see cref="TinyVaeDecoder"/>'s output and <see cref="TinyVaeEncoder"/>'s input: [-1,1] when its config.json names AutoencoderTiny, else <see cref="ModelLoadOptions.TinyVaeRange"/>.</summary>
    public ImageRange TinyVaeRange { get; private set; }

    /// <summary>The scheduler config: the folder's <c>scheduler/scheduler_config.json</c>, or the one <see cref="RuntimeOptions.Scheduler"/> names.</summary>
    public SchedulerConfig SchedulerConfig { get; private set; } = null!;

    /// <summary>VAE latent scaling factor (0.13025 SDXL, 0.18215 SD 2.x) read from the VAE config.</summary>
    public float ScalingFactor { get; private set; }

    /// <summary>True when the VAE config asks for fp32 (<c>force_upcast</c>); an fp16 graph then risks NaNs (not the fp16-fix).</summary>
    public bool VaeForceUpcast { get; private set; }

    /// <summary>Default image side: unet <c>sample_size</c> × 8 (512 for both turbo models).</summary>
    public int DefaultSize { get; private set; } = 512;

    /// <summary>SDXL uses zero embeddings for an empty negative prompt (model_index <c>force_zeros_for_empty_prompt</c>, default true).</summary>
    public bool ForceZerosForEmptyPrompt { get; private set; } = true;

    /// <summary>Every loaded ONNX component (text encoders, UNet, VAE decoder/encoder, tiny VAE decoder/encoder), skipping absent ones.</summary>
    public IEnumerable<OnnxComponent> Components =>
        new OnnxComponent?[] { TextEncoder, TextEncoder2, Unet, VaeDecoder, VaeEncoder, TinyVaeDecoder, TinyVaeEncoder }.Where(c => c is not null)!;

    /// <summary>Loads a model folder. Errors name the path and what was expected there.</summary>
    public static TurboModel Load(string folder, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        folder = System.IO.Path.GetFullPath(folder);
        if (File.Exists(folder))
        {
            throw new ModelLoadException(folder, $"{folder} is a file; expected a model folder (model_index.json, unet/, text_encoder/, vae_decoder/, ...). Single-file checkpoints are built into a folder first (see the builder).");
        }
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException(folder, $"Model folder not found: {folder}");
        }
        var family = Directory.Exists(System.IO.Path.Combine(folder, "text_encoder_2")) ? ModelFamily.Sdxl : ModelFamily.Sd;
        var model = new TurboModel(folder, family) { Id = new DirectoryInfo(folder).Name };
        try
        {
            model.LoadParts(options);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void LoadParts(ModelLoadOptions options)
    {
        var rt = options.Runtime;
        string schedulerPath = Need(System.IO.Path.Combine(Path, "scheduler", "scheduler_config.json"), "the scheduler config");
        SchedulerConfig = Schedulers.ReadConfig(schedulerPath, rt.Scheduler, rt.SchedulerParameters);
        try
        {
            Schedulers.Create(SchedulerConfig); // an unsupported scheduler fails the load, before any session is created
        }
        catch (TurboGenException e) when (e is not InvalidRequestException)
        {
            string message = e.Message.Contains(schedulerPath, StringComparison.Ordinal) ? e.Message : $"{schedulerPath}: {e.Message}";
            throw new ModelLoadException(schedulerPath, message + (rt.Scheduler is null ? " A LoRA-made few-step model may need --scheduler." : ""), e);
        }
        Tokenizer = ClipTokenizer.FromFolder(NeedDir("tokenizer"));
        bool release = rt.ReleaseMemoryAfterRun;
        TextEncoder = new TextEncoder("text_encoder", SessionFactory.Create(ComponentModel("text_encoder"), rt), ComponentModel("text_encoder")) { ReleaseMemoryAfterRun = release };
        if (Family == ModelFamily.Sdxl)
        {
            Tokenizer2 = ClipTokenizer.FromFolder(NeedDir("tokenizer_2"));
            TextEncoder2 = new TextEncoder("text_encoder_2", SessionFactory.Create(ComponentModel("text_encoder_2"), rt), ComponentModel("text_encoder_2")) { ReleaseMemoryAfterRun = release };
            if (!TextEncoder2.HasTextEmbeds)
            {
                throw new ModelContractException(TextEncoder2.Path, $"SDXL text_encoder_2 must output 'text_embeds'; found {TextEncoder2.DescribeIo()}.");
            }
        }
        Unet = new Unet(SessionFactory.Create(ComponentModel("unet"), rt), ComponentModel("unet")) { ReleaseMemoryAfterRun = release };
        if ((Family == ModelFamily.Sdxl) != Unet.UsesTextTime)
        {
            throw new ModelContractException(Unet.Path, Family == ModelFamily.Sdxl
                ? $"The folder has text_encoder_2/ (SDXL) but the unet has no text_embeds/time_ids inputs: {Unet.DescribeIo()}."
                : $"The unet expects text_embeds/time_ids (SDXL) but the folder has no text_encoder_2/: {Unet.DescribeIo()}.");
        }
        VaeDecoder = new VaeDecoder("vae_decoder", SessionFactory.Create(ComponentModel("vae_decoder"), rt), ComponentModel("vae_decoder")) { ReleaseMemoryAfterRun = release };
        string encoderPath = System.IO.Path.Combine(Path, "vae_encoder", "model.onnx");
        if (!options.SkipVaeEncoder && File.Exists(encoderPath))
        {
            VaeEncoder = new VaeEncoder("vae_encoder", SessionFactory.Create(encoderPath, rt), encoderPath) { ReleaseMemoryAfterRun = release };
        }
        ReadVaeConfig();
        ReadUnetConfig();
        ReadModelIndex();
        if (options.TinyVaePath is { } tiny)
        {
            LoadTinyVae(tiny, options);
        }
    }

    private void LoadTinyVae(string tiny, ModelLoadOptions options)
    {
        tiny = System.IO.Path.GetFullPath(tiny);
        string? decoder = new[] { System.IO.Path.Combine(tiny, "vae_decoder", "model.onnx"), System.IO.Path.Combine(tiny, "model.onnx"), tiny }
            .FirstOrDefault(p => File.Exists(p) && p.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase));
        if (decoder is null)
        {
            throw new ModelLoadException(tiny, $"Tiny VAE not found at {tiny}: expected vae_decoder/model.onnx or model.onnx (a TAESD/TAESDXL decoder export).");
        }
        // The tiny VAE keeps its arena: its activations are small next to the weights, and re-faulting them cost +16 % of its time.
        TinyVaeDecoder = new VaeDecoder("tiny_vae_decoder", SessionFactory.Create(decoder, options.Runtime), decoder);
        string encoder = System.IO.Path.Combine(tiny, "vae_encoder", "model.onnx");
        if (!options.SkipVaeEncoder && decoder == System.IO.Path.Combine(tiny, "vae_decoder", "model.onnx") && File.Exists(encoder))
        {
            TinyVaeEncoder = new VaeEncoder("tiny_vae_encoder", SessionFactory.Create(encoder, options.Runtime), encoder);
        }
        TinyVaeRange = options.TinyVaeRange;
        foreach (string cfg in new[] { System.IO.Path.Combine(tiny, "config.json"), System.IO.Path.Combine(System.IO.Path.GetDirectoryName(decoder)!, "config.json") })
        {
            if (File.Exists(cfg) && ConfigReader.Load(cfg, "Tiny VAE config").OptionalString("_class_name") == "AutoencoderTiny")
            {
                TinyVaeRange = ImageRange.MinusOneToOne;
            }
        }
    }

    private void ReadVaeConfig()
    {
        float? factor = null;
        foreach (string dir in new[] { "vae_decoder", "vae", "vae_encoder" })
        {
            string cfg = System.IO.Path.Combine(Path, dir, "config.json");
            if (!File.Exists(cfg)) continue;
            var config = ConfigReader.Load(cfg, "VAE config");
            factor ??= config.OptionalFloat("scaling_factor");
            VaeForceUpcast |= config.Bool("force_upcast", false);
        }
        // Without a config, use the published value for the family (MODEL-CONTRACT §5.1).
        ScalingFactor = factor ?? (Family == ModelFamily.Sdxl ? 0.13025f : 0.18215f);
    }

    private void ReadUnetConfig()
    {
        string cfg = System.IO.Path.Combine(Path, "unet", "config.json");
        if (!File.Exists(cfg)) return;
        var config = ConfigReader.Load(cfg, "UNet config");
        // sample_size may also be [height, width]; then the default size stays.
        if (!config.IsList("sample_size") && config.OptionalInt("sample_size") is int sampleSize)
        {
            DefaultSize = sampleSize * 8;
        }
    }

    private void ReadModelIndex()
    {
        string index = System.IO.Path.Combine(Path, "model_index.json");
        if (!File.Exists(index)) return;
        var config = ConfigReader.Load(index, "Model index");
        // As in diffusers, an explicit null is false (the pipeline tests the value's truth).
        ForceZerosForEmptyPrompt = !config.IsNull("force_zeros_for_empty_prompt") && config.Bool("force_zeros_for_empty_prompt", true);
    }

    private string Need(string file, string what) =>
        File.Exists(file) ? file : throw new ModelLoadException(file, $"Missing {what}: expected {file}.");

    private string NeedDir(string name)
    {
        string dir = System.IO.Path.Combine(Path, name);
        return Directory.Exists(dir) ? dir : throw new ModelLoadException(dir, $"Missing {name}/ in {Path}: expected vocab.json, merges.txt and special_tokens_map.json there.");
    }

    private string ComponentModel(string component)
    {
        string dir = System.IO.Path.Combine(Path, component);
        string file = System.IO.Path.Combine(dir, "model.onnx");
        if (!File.Exists(file))
        {
            throw new ModelLoadException(file, $"Missing {component}/model.onnx in {Path} (expected an Optimum or Olive ONNX export; large models keep weights in model.onnx_data or model.onnx.data next to it).");
        }
        return file;
    }

    /// <summary>Disposes every component's session.</summary>
    public void Dispose()
    {
        foreach (var c in Components) c.Dispose();
    }
}

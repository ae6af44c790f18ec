namespace TurboGen.Configs;

/// <summary>
/// The diffusers configs of one model (the JSON texts of <c>unet/config.json</c>, <c>text_encoder/config.json</c>,
/// <c>text_encoder_2/config.json</c> (SDXL only), <c>vae/config.json</c>, <c>scheduler/scheduler_config.json</c> and
/// <c>model_index.json</c>). Single-file checkpoints carry none of them, so they are supplied from <see cref="KnownConfigs"/>
/// (or, in tests, from the tiny golden models).
/// </summary>
public sealed record ModelConfigSet(
    ModelFamily Family,
    string UnetConfigJson,
    string TextEncoderConfigJson,
    string? TextEncoder2ConfigJson,
    string VaeConfigJson,
    string SchedulerConfigJson,
    string ModelIndexJson)
{
    /// <summary>Throws <see cref="ArgumentException"/> when the set does not fit its family (SDXL needs a second text encoder, SD has none).</summary>
    public void Validate()
    {
        if (Family == ModelFamily.Sdxl && TextEncoder2ConfigJson is null)
        {
            throw new ArgumentException("An SDXL config set needs a text_encoder_2 config.");
        }
        if (Family == ModelFamily.Sd && TextEncoder2ConfigJson is not null)
        {
            throw new ArgumentException("An SD 1.x/2.x config set has no text_encoder_2 config.");
        }
    }

    /// <summary>
    /// The configs of a diffusers model folder (or a Hub snapshot of one without weights): <c>unet/config.json</c>,
    /// <c>text_encoder/config.json</c>, <c>text_encoder_2/config.json</c> (its presence makes the set SDXL), <c>vae/config.json</c>,
    /// <c>scheduler/scheduler_config.json</c> and <c>model_index.json</c> — what diffusers' <c>from_single_file(config=…)</c> reads, for a
    /// single file whose networks differ from the published base model's. Each file must exist and be a JSON object (a
    /// <see cref="ModelLoadException"/> naming it otherwise).
    /// </summary>
    public static ModelConfigSet FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException(folder, $"The config folder {folder} does not exist.");
        }
        string Read(string relative, string kind)
        {
            string path = Path.Combine(folder, relative);
            ConfigReader.Load(path, kind);   // exists, readable, a JSON object
            string text = File.ReadAllText(path);
            return text.EndsWith('\n') ? text[..^1] : text;
        }
        bool xl = Directory.Exists(Path.Combine(folder, "text_encoder_2"));
        return new ModelConfigSet(
            xl ? ModelFamily.Sdxl : ModelFamily.Sd,
            Read(Path.Combine("unet", "config.json"), "UNet config"),
            Read(Path.Combine("text_encoder", "config.json"), "text encoder config"),
            xl ? Read(Path.Combine("text_encoder_2", "config.json"), "text encoder 2 config") : null,
            Read(Path.Combine("vae", "config.json"), "VAE config"),
            Read(Path.Combine("scheduler", "scheduler_config.json"), "scheduler config"),
            Read("model_index.json", "model index"));
    }
}

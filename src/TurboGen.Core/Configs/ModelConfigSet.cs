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
            throw new ArgumentException("An SD 2.x config set has no text_encoder_2 config.");
        }
    }
}

namespace TurboGen.Configs;

/// <summary>
/// The diffusers configs of the published base models, stabilityai/sdxl-turbo, stabilityai/sd-turbo and SD 1.5: the files under
/// <c>Configs/&lt;org&gt;/&lt;model&gt;/</c> (embedded in the assembly), with the values of the published repositories. They are
/// needed at run time for the single-file checkpoints (<c>sd_xl_turbo_1.0_fp16.safetensors</c>, <c>sd_turbo.safetensors</c>, SD 1.x files),
/// which carry no configs, and by the benchmarks to write full-size random models. Each text is checked by
/// <see cref="ConfigReader"/> when loaded and kept exactly as stored (without the file's final newline): it is part of
/// the content hash that keys built models, and is copied into them.
/// </summary>
public static class KnownConfigs
{
    /// <summary>All configs of stabilityai/sdxl-turbo (SDXL UNet with 2,567,463,684 parameters, CLIP-L + OpenCLIP bigG, the SDXL VAE).</summary>
    public static ModelConfigSet SdxlTurbo { get; } = Load(ModelFamily.Sdxl, "stabilityai/sdxl-turbo");

    /// <summary>All configs of stabilityai/sd-turbo (the SD 2.1 UNet with 865,910,724 parameters, OpenCLIP-H cut to 23 layers, the SD 2.x VAE).</summary>
    public static ModelConfigSet SdTurbo { get; } = Load(ModelFamily.Sd, "stabilityai/sd-turbo");

    /// <summary>
    /// The networks of SD 1.5 (stable-diffusion-v1-5/stable-diffusion-v1-5, formerly runwayml/): the UNet with 859,520,964
    /// parameters (cross_attention_dim 768, 8 heads, convolutional proj_in/out), CLIP ViT-L/14's text tower (openai/clip-vit-large-patch14,
    /// 12 layers, 768 wide, quick_gelu, no projection), the SD VAE (scaling 0.18215). The published scheduler is PNDM, which TurboGen
    /// does not implement: this set has Euler with the same betas, <c>timestep_spacing</c> "leading" and <c>steps_offset</c> 1 (PNDM's
    /// spacing in SD 1.5's config); few-step SD 1.x models pick their own with <c>--scheduler</c> or a preset.
    /// </summary>
    public static ModelConfigSet Sd15 { get; } = Load(ModelFamily.Sd, "stable-diffusion-v1-5/stable-diffusion-v1-5");


    /// <summary>The turbo model of <paramref name="family"/>: SDXL-Turbo or SD-Turbo.</summary>
    public static ModelConfigSet For(ModelFamily family) => family switch
    {
        ModelFamily.Sdxl => SdxlTurbo,
        ModelFamily.Sd => SdTurbo,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    private static ModelConfigSet Load(ModelFamily family, string model) => new(
        family,
        Text(model, "unet/config.json"),
        Text(model, "text_encoder/config.json"),
        family == ModelFamily.Sdxl ? Text(model, "text_encoder_2/config.json") : null,
        Text(model, "vae/config.json"),
        Text(model, "scheduler/scheduler_config.json"),
        Text(model, "model_index.json"));

    /// <summary>The embedded file <c>&lt;org&gt;/&lt;model&gt;/&lt;file&gt;</c> (resource names use '/' whatever the build machine's separator).</summary>
    private static string Text(string model, string file)
    {
        string name = $"{model}/{file}";
        var assembly = typeof(KnownConfigs).Assembly;
        string resource = assembly.GetManifestResourceNames().SingleOrDefault(r => r.Replace('\\', '/') == ResourcePrefix + name)
            ?? throw new InvalidOperationException($"The known config {name} is not embedded in {assembly.GetName().Name}.");
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        string text = reader.ReadToEnd();
        if (text.EndsWith('\n')) text = text[..^1];
        ConfigReader.Parse(text, "Known config", name);
        return text;
    }

    private const string ResourcePrefix = "TurboGen.Configs.";
}

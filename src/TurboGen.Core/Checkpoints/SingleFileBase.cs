namespace TurboGen.Checkpoints;

/// <summary>
/// The base model an original (ldm/sgm) single-file checkpoint belongs to, read from its keys by
/// <see cref="SingleFileLayout.DetectBase"/> (the same tests diffusers' single-file loader makes):
/// </summary>
public enum SingleFileBase
{
    /// <summary>SD 1.x (SD 1.5 and its fine-tunes, LCM Dreamshaper, SDXS): CLIP ViT-L/14 text encoder alone under <c>cond_stage_model.transformer.</c> (ldm's FrozenCLIPEmbedder).</summary>
    Sd1,

    /// <summary>SD 2.x (SD-Turbo, SD 2.1): OpenCLIP ViT-H under <c>cond_stage_model.model.</c> (or sgm's <c>conditioner.embedders.0.model.</c>).</summary>
    Sd2,

    /// <summary>SDXL (SDXL-Turbo, SDXL-Lightning): CLIP-L under <c>conditioner.embedders.0.transformer.</c> + OpenCLIP bigG under <c>conditioner.embedders.1.model.</c>.</summary>
    Sdxl,
}

/// <summary>Helpers of <see cref="SingleFileBase"/>.</summary>
public static class SingleFileBaseExtensions
{
    /// <summary>The pipeline family: SDXL, or the one-encoder SD family for SD 1.x and SD 2.x.</summary>
    public static ModelFamily Family(this SingleFileBase b) => b == SingleFileBase.Sdxl ? ModelFamily.Sdxl : ModelFamily.Sd;

    /// <summary>The published configs a single file of <paramref name="b"/> is read with: <see cref="Configs.KnownConfigs.Sd15"/>, <see cref="Configs.KnownConfigs.SdTurbo"/> or <see cref="Configs.KnownConfigs.SdxlTurbo"/>.</summary>
    public static Configs.ModelConfigSet KnownConfigs(this SingleFileBase b) => b switch
    {
        SingleFileBase.Sd1 => Configs.KnownConfigs.Sd15,
        SingleFileBase.Sd2 => Configs.KnownConfigs.SdTurbo,
        SingleFileBase.Sdxl => Configs.KnownConfigs.SdxlTurbo,
        _ => throw new ArgumentOutOfRangeException(nameof(b), b, null),
    };

    /// <summary>"SD 1.x", "SD 2.x" or "SDXL", for messages.</summary>
    public static string Describe(this SingleFileBase b) => b switch
    {
        SingleFileBase.Sd1 => "SD 1.x",
        SingleFileBase.Sd2 => "SD 2.x",
        _ => "SDXL",
    };
}

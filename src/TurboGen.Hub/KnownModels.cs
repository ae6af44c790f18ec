namespace TurboGen.Hub;

/// <summary>
/// A short model name (<c>-m sd-turbo</c>) for a published few-step model: its Hub repository, the checkpoint file to take when
/// the repository holds several, and the settings the model is made for. Every setting is null where the model's own files
/// state it (a diffusers repository's <c>scheduler_config.json</c> and UNet <c>sample_size</c>): those files then decide, and the
/// preset only fills what they leave open (steps and guidance, which no file records; the scheduler and size of an all-in-one
/// single file, which is built with the family's standard configs). Options given on the command line override both.
/// </summary>
/// <param name="Name">The name <c>-m</c> takes (lower case).</param>
/// <param name="RepoId">The Hub repository (for a LoRA-made model: the base model's).</param>
/// <param name="Checkpoint">The root single-file checkpoint to download, when the repository holds several (null: the usual variant choice).</param>
/// <param name="Description">One line for <c>turbogen models --known</c>.</param>
public sealed record KnownModel(string Name, string RepoId, string? Checkpoint, string Description)
{
    /// <summary>Denoising steps the model is distilled for.</summary>
    public int? Steps { get; init; }

    /// <summary>Classifier-free guidance scale (0: none; LCM models take it as their w embedding).</summary>
    public float? Guidance { get; init; }

    /// <summary>A <c>--scheduler</c> override name, for checkpoints whose files carry no fitting scheduler config.</summary>
    public string? Scheduler { get; init; }

    /// <summary>
    /// Values set on top of <see cref="Scheduler"/> (which they need) for models made for other values than its class defaults:
    /// DMD2's LCM original_inference_steps 4, Hyper-SD 1-step's TCD gamma 1. Dropped when <c>--scheduler</c> is given.
    /// </summary>
    public TurboGen.Scheduling.SchedulerParameters? SchedulerParameters { get; init; }

    /// <summary>Image side in pixels, for checkpoints whose files do not state the size they were trained at.</summary>
    public int? Size { get; init; }

    /// <summary>
    /// A LoRA that makes the base model (<see cref="RepoId"/>) a few-step model (LCM-LoRA, TCD-LoRA, Hyper-SD): downloaded and
    /// merged at build time before any <c>--lora</c> given on the command line; null for complete models.
    /// </summary>
    public KnownLora? Lora { get; init; }

    /// <summary>Other names that select the same preset.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>What <see cref="HubVariants"/> needs to pick this preset's files.</summary>
    public HubVariantNeeds Needs(HubVariantNeeds needs) => Checkpoint is null ? needs : needs with { Checkpoint = Checkpoint };
}

/// <summary>A LoRA file of a preset (<see cref="KnownModel.Lora"/>): its Hub repository, the root file and the merge scale.</summary>
/// <param name="RepoId">The LoRA's Hub repository.</param>
/// <param name="File">The safetensors file at the repository root.</param>
/// <param name="Scale">The merge scale (the model card's <c>fuse_lora</c> scale; 1 by default).</param>
public sealed record KnownLora(string RepoId, string File, float Scale = 1f);

/// <summary>
/// The presets <c>-m NAME</c> knows (<see cref="KnownModel"/>). Repository ids, file names and settings are those of the
/// publishers' model cards: SD-Turbo / SDXL-Turbo 1 step without guidance; SDXS-512 (distilled from SD-Turbo) 1 step without
/// guidance; SDXL-Lightning's all-in-one checkpoints <c>sdxl_lightning_Nstep.safetensors</c> with N steps, no guidance, Euler
/// with "trailing" timesteps at 1024²; LCM-Dreamshaper v7 with 4 steps (1–8) at guidance 8 (its LCM scheduler config is in the repository).
/// LoRA-made models (base + <see cref="KnownLora"/> + scheduler override), from the LoRAs' model cards: LCM-LoRA (latent-consistency/lcm-lora-sdv1-5,
/// lcm-lora-sdxl) with LCMScheduler, 2–8 steps (4 here), guidance disabled or 1–2 (1 here: TurboGen runs no CFG at ≤ 1); TCD-LoRA
/// (h1t/TCD-SD15-LoRA, TCD-SDXL-LoRA) with TCDScheduler, 4 steps, guidance 0, eta (gamma) 0.3; Hyper-SD's N-step LoRAs
/// (ByteDance/Hyper-SD) with DDIM "trailing", N steps, guidance 0 — TurboGen has no DDIM and uses Euler "trailing", the same
/// deterministic step in σ (DDIM with η = 0 is Euler on the probability-flow ODE) except that DDIM's last step ends at
/// alphas_cumprod[0] (σ ≈ 0.029) rather than σ = 0. Hyper-SD's 1-step SDXL LoRA (the card's "unified" LoRA) with TCDScheduler,
/// 1 step, guidance 0, eta (gamma) 1.0. DMD2's 4-step SDXL LoRA (tianweiy/DMD2, <c>dmd2_sdxl_4step_lora_fp16.safetensors</c>,
/// fuse scale 1) with LCMScheduler, 4 steps, guidance 0 and the timesteps 999, 749, 499, 249 the card passes, which are
/// LCMScheduler's own schedule for 4 steps at original_inference_steps 4 (k = 1000 / 4 = 250, origin 250·i − 1).
/// </summary>
public static class KnownModels
{
    /// <summary>Every known model name (<c>-m sd-turbo</c> …) with its Hub repository, file and recommended settings, in listing order.</summary>
    public static IReadOnlyList<KnownModel> All { get; } =
    [
        new("sd-turbo", "stabilityai/sd-turbo", null, "SD-Turbo (SD 2.1 distilled, ADD): 1 step, 512²") { Steps = 1, Guidance = 0 },
        new("sdxl-turbo", "stabilityai/sdxl-turbo", null, "SDXL-Turbo (SDXL distilled, ADD): 1 step, 512²") { Steps = 1, Guidance = 0 },
        new("sdxs", "IDKiro/sdxs-512-0.9", null, "SDXS-512 0.9 (distilled from SD-Turbo, smaller UNet): 1 step, 512²")
        {
            Steps = 1, Guidance = 0, Aliases = ["sdxs-512"],
        },
        Lightning(2),
        Lightning(4),
        Lightning(8),
        new("lcm-dreamshaper", "SimianLuo/LCM_Dreamshaper_v7", null, "LCM Dreamshaper v7 (SD 1.5 fine-tune, latent consistency): 4 steps (1–8), guidance 8")
        {
            Steps = 4, Guidance = 8, Aliases = ["lcm-dreamshaper-v7"],
        },
        new("lcm-lora-sd15", Sd15, null, "SD 1.5 + LCM-LoRA: LCM scheduler, 4 steps (2–8), no guidance, 512²")
        {
            Steps = 4, Guidance = 1, Scheduler = "lcm", Size = 512, Lora = new("latent-consistency/lcm-lora-sdv1-5", PeftLoraFile),
        },
        new("lcm-lora-sdxl", SdxlBase, null, "SDXL base + LCM-LoRA: LCM scheduler, 4 steps (2–8), no guidance, 1024²")
        {
            Steps = 4, Guidance = 1, Scheduler = "lcm", Size = 1024, Lora = new("latent-consistency/lcm-lora-sdxl", PeftLoraFile),
        },
        new("tcd-sd15", Sd15, null, "SD 1.5 + TCD-LoRA: TCD scheduler (gamma 0.3), 4 steps, no guidance, 512²")
        {
            Steps = 4, Guidance = 0, Scheduler = "tcd", Size = 512, Lora = new("h1t/TCD-SD15-LoRA", PeftLoraFile),
        },
        new("tcd-sdxl", SdxlBase, null, "SDXL base + TCD-LoRA: TCD scheduler (gamma 0.3), 4 steps, no guidance, 1024²")
        {
            Steps = 4, Guidance = 0, Scheduler = "tcd", Size = 1024, Lora = new("h1t/TCD-SDXL-LoRA", PeftLoraFile),
        },
        HyperSd("hyper-sd15", Sd15, "SD15", 512),
        HyperSd("hyper-sdxl", SdxlBase, "SDXL", 1024),
        new("hyper-sdxl-1step", SdxlBase, null, "SDXL base + Hyper-SD 1-step LoRA: TCD scheduler (gamma 1), 1 step, no guidance, 1024²")
        {
            Steps = 1, Guidance = 0, Scheduler = "tcd", SchedulerParameters = new() { Gamma = 1.0 }, Size = 1024,
            Lora = new("ByteDance/Hyper-SD", "Hyper-SDXL-1step-lora.safetensors"),
        },
        new("dmd2-sdxl-4step", SdxlBase, null, "SDXL base + DMD2 4-step LoRA: LCM scheduler, timesteps 999/749/499/249, 4 steps, no guidance, 1024²")
        {
            Steps = 4, Guidance = 0, Scheduler = "lcm", SchedulerParameters = new() { OriginalInferenceSteps = 4 }, Size = 1024,
            Lora = new("tianweiy/DMD2", "dmd2_sdxl_4step_lora_fp16.safetensors"), Aliases = ["dmd2"],
        },
    ];

    private const string Sd15 = "stable-diffusion-v1-5/stable-diffusion-v1-5";
    private const string SdxlBase = "stabilityai/stable-diffusion-xl-base-1.0";
    private const string PeftLoraFile = "pytorch_lora_weights.safetensors";

    private static KnownModel HyperSd(string name, string baseRepo, string family, int size) =>
        new($"{name}-4step", baseRepo, null, $"{(family == "SD15" ? "SD 1.5" : "SDXL base")} + Hyper-SD 4-step LoRA: Euler trailing (the card's DDIM trailing), 4 steps, no guidance, {size}²")
        {
            Steps = 4, Guidance = 0, Scheduler = "euler", Size = size, Lora = new("ByteDance/Hyper-SD", $"Hyper-{family}-4steps-lora.safetensors"),
        };

    private static KnownModel Lightning(int steps) =>
        new($"sdxl-lightning-{steps}step", "ByteDance/SDXL-Lightning", $"sdxl_lightning_{steps}step.safetensors",
            $"SDXL-Lightning {steps}-step all-in-one checkpoint: {steps} steps, Euler trailing, 1024²")
        {
            Steps = steps, Guidance = 0, Scheduler = "euler", Size = 1024,
        };

    /// <summary>The preset called <paramref name="name"/> (or one of its aliases; any case), else null.</summary>
    public static KnownModel? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        string n = name.Trim();
        return All.FirstOrDefault(m => string.Equals(m.Name, n, StringComparison.OrdinalIgnoreCase)
            || m.Aliases.Any(a => string.Equals(a, n, StringComparison.OrdinalIgnoreCase)));
    }
}


namespace TurboGen.Checkpoints.Lora;

/// <summary>The networks a LoRA file can target, named like the diffusers pipeline folders.</summary>
public static class LoraComponent
{
    /// <summary>The UNet: kohya keys <c>lora_unet_*</c>, diffusers keys <c>unet.*</c>.</summary>
    public const string Unet = "unet";

    /// <summary>The (first) text encoder: kohya keys <c>lora_te_*</c> / <c>lora_te1_*</c>, diffusers keys <c>text_encoder.*</c>.</summary>
    public const string TextEncoder = "text_encoder";

    /// <summary>SDXL's second text encoder: kohya keys <c>lora_te2_*</c>, diffusers keys <c>text_encoder_2.*</c>.</summary>
    public const string TextEncoder2 = "text_encoder_2";

    /// <summary>The three component names, in pipeline order.</summary>
    public static readonly IReadOnlyList<string> All = [Unet, TextEncoder, TextEncoder2];
}

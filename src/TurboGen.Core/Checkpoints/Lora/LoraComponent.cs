
namespace TurboGen.Checkpoints.Lora;

/// <summary>The networks a LoRA file can target, named like the diffusers pipeline folders.</summary>
public static class LoraComponent
{
    public const string Unet = "unet";
    public const string TextEncoder = "text_encoder";
    public const string TextEncoder2 = "text_encoder_2";

    public static readonly IReadOnlyList<string> All = [Unet, TextEncoder, TextEncoder2];
}

namespace TurboGen.Checkpoints.Lora;

/// <summary>How a LoRA file names the module a pair of low-rank matrices belongs to.</summary>
public enum LoraNaming
{
    /// <summary>kohya / A1111: <c>lora_unet_down_blocks_0_attentions_0_proj_in</c>, dots of the module path turned into underscores (resolved against the base checkpoint's keys).</summary>
    Kohya,

    /// <summary>diffusers / PEFT: the dotted module path itself (<c>down_blocks.0.attentions.0.proj_in</c>).</summary>
    Diffusers,

    /// <summary>
    /// A UNet module in the original (LDM/sgm) layout (<c>input_blocks_4_1_proj_in</c>, <c>output_blocks_2_0_in_layers_2</c>,
    /// <c>time_embed_0</c>, <c>out_2</c>), stored underscored whether the file wrote it kohya-style or dotted after
    /// <c>diffusion_model.</c>; resolved through the single-file layout of the model's UNet config.
    /// </summary>
    Original,
}

/// <summary>
/// One adapted layer of a LoRA file: the down (A) matrix [rank, in(, k, k)], the up (B) matrix [out, rank(, 1, 1)] and
/// alpha, so that the layer's weight becomes W + scale · (Alpha / Rank) · up · down.
/// </summary>
/// <param name="Component">The network it targets (<see cref="LoraComponent"/>).</param>
/// <param name="Module">The module as the file names it: underscored for <see cref="LoraNaming.Kohya"/> and <see cref="LoraNaming.Original"/>, dotted for <see cref="LoraNaming.Diffusers"/>.</param>
/// <param name="Naming">Which naming convention the file uses for the module.</param>
/// <param name="DownKey">The file's name of the down (A) tensor (e.g. <c>….lora_down.weight</c> or <c>….lora_A.weight</c>).</param>
/// <param name="DownShape">The down tensor's shape, [rank, in] or [rank, in, k, k].</param>
/// <param name="UpKey">The file's name of the up (B) tensor (e.g. <c>….lora_up.weight</c> or <c>….lora_B.weight</c>).</param>
/// <param name="UpShape">The up tensor's shape, [out, rank] or [out, rank, 1, 1].</param>
/// <param name="AlphaKey">The file's name of the <c>.alpha</c> scalar, or null when the file has none.</param>
/// <param name="Alpha">From the <c>.alpha</c> tensor, else the file's <c>lora_adapter_metadata</c>, else the rank (factor 1).</param>
public sealed record LoraModule(
    string Component,
    string Module,
    LoraNaming Naming,
    string DownKey,
    long[] DownShape,
    string UpKey,
    long[] UpShape,
    string? AlphaKey,
    float Alpha)
{
    /// <summary>The LoRA rank: the first dimension of <see cref="DownShape"/>.</summary>
    public int Rank => checked((int)DownShape[0]);

    /// <summary>Alpha / Rank: the factor the file itself puts on up · down.</summary>
    public float AlphaOverRank => Alpha / Rank;

    /// <summary>The file's tensor names of this module (for reports).</summary>
    public IEnumerable<string> Keys => AlphaKey is null ? [DownKey, UpKey] : [DownKey, UpKey, AlphaKey];
}

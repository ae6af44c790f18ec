using TurboGen.Imaging;
using TurboGen.Runtime;

namespace TurboGen.Pipelines;

/// <summary>
/// One ControlNet of a request: the loaded <see cref="Runtime.ControlNet"/>, its ready control image (already through its
/// preprocessor, e.g. a canny edge map; resized here as diffusers does), the conditioning scale, and the part of the schedule it
/// acts on as fractions of the steps (diffusers' <c>control_guidance_start</c> / <c>control_guidance_end</c>).
/// </summary>
public sealed record ControlInput(IControlNet ControlNet, RgbImage Image)
{
    /// <summary>The largest accepted <see cref="Scale"/>: 5.</summary>
    public const float MaxScale = 5f;

    /// <summary>controlnet_conditioning_scale: the residuals are multiplied by it (0–5; 1 = as trained).</summary>
    public float Scale { get; init; } = 1f;

    /// <summary>Fraction of the steps at which the ControlNet starts acting (0 = from the first step).</summary>
    public float GuidanceStart { get; init; }

    /// <summary>Fraction of the steps after which it stops (1 = until the last step).</summary>
    public float GuidanceEnd { get; init; } = 1f;

    /// <summary>Checks the fields; <paramref name="index"/> names the entry in errors ("controlnet[1].scale").</summary>
    public void Validate(int index)
    {
        string field = $"controlnet[{index}]";
        if (Image is null) throw new InvalidRequestException($"{field}.image", $"{field} has no control image.");
        if (!float.IsFinite(Scale) || Scale is < 0 or > MaxScale)
            throw new InvalidRequestException($"{field}.scale", $"{field} conditioning scale must be between 0 and {MaxScale} (got {Scale}).");
        if (!float.IsFinite(GuidanceStart) || !float.IsFinite(GuidanceEnd) || GuidanceStart < 0 || GuidanceEnd > 1 || GuidanceStart >= GuidanceEnd)
            throw new InvalidRequestException($"{field}.guidance_start",
                $"{field} guidance start/end must satisfy 0 ≤ start < end ≤ 1 (got {GuidanceStart} and {GuidanceEnd}).");
    }

    /// <summary>
    /// diffusers' controlnet_keep for step <paramref name="i"/> of <paramref name="steps"/>: 0 when i/steps &lt; start or
    /// (i+1)/steps &gt; end, else 1 (the scale used at that step is Scale·keep).
    /// </summary>
    public bool ActsAt(int i, int steps) => !((double)i / steps < GuidanceStart || (double)(i + 1) / steps > GuidanceEnd);
}

using TurboGen.Imaging;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// Everything one generation needs. Text-to-image when <see cref="InitImage"/> is null, image-to-image otherwise.
/// Defaults follow the turbo models' cards: 1 step, guidance 0, the model's native size (512²).
/// </summary>
public sealed record GenerationRequest
{
    /// <summary>Limits <see cref="Validate"/> enforces: sides from MinSide (64) to MaxSide (2048) pixels in multiples of SideMultiple (8), at most MaxSteps (50) steps and MaxBatch (16) images.</summary>
    public const int MinSide = 64, MaxSide = 2048, SideMultiple = 8, MaxSteps = 50, MaxBatch = 16;

    /// <summary>Largest <see cref="GuidanceScale"/>.</summary>
    public const float MaxGuidanceScale = 50;

    /// <summary>Characters accepted in a prompt or negative prompt (the tokenizer's cap).</summary>
    public const int MaxPromptChars = Text.ClipTokenizer.MaxPromptLength;

    /// <summary>The prompt (at most <see cref="MaxPromptChars"/> characters; tokens past 77 are dropped and the result says so).</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The negative prompt; used only with guidance (<see cref="UsesGuidance"/>).</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Image size in pixels (multiple of 8, 64–2048); null = the model's default (512).</summary>
    public int? Width { get; init; }

    /// <summary>Image height in pixels (multiple of 8, 64–2048); null = the model's default (512).</summary>
    public int? Height { get; init; }

    /// <summary>Denoising steps 1–50 (turbo models: 1–4).</summary>
    public int Steps { get; init; } = 1;

    /// <summary>Seed of image 0; image i uses Seed + i. Null = a random seed (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>Images generated together, 1–16 (seeds Seed, Seed + 1, …).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>
    /// Guidance scale; only values &gt; 1 enable guidance (turbo models are trained without it). Classifier-free guidance for
    /// most models; an LCM-distilled UNet (<c>time_cond_proj_dim</c>) takes it as its guidance-scale embedding instead, where
    /// scales ≤ 1 embed as 1.
    /// </summary>
    public float GuidanceScale { get; init; }

    /// <summary>Image-to-image: the init image (resized/cropped to the requested size).</summary>
    public RgbImage? InitImage { get; init; }

    /// <summary>Image-to-image strength in (0, 1]: how much of the schedule is run (see the scheduler's strength rule).</summary>
    public float Strength { get; init; } = 0.5f;

    /// <summary>Decode with the tiny VAE (TAESD) instead of the full VAE (needs one loaded).</summary>
    public bool UseTinyVae { get; init; }

    /// <summary>Report a preview of the current x0 estimate (through the tiny VAE, if loaded) with each step's progress event.</summary>
    public bool PreviewSteps { get; init; }

    /// <summary>Parity/testing: the initial noise [B,4,h,w] (unscaled N(0,1)) instead of the seeded generator's.</summary>
    public FloatTensor? InitialNoise { get; init; }

    /// <summary>Inpainting: the mask over <see cref="InitImage"/> (same size) and how it is applied; null = no inpainting.</summary>
    public InpaintMask? Mask { get; init; }

    /// <summary>Parity/testing, inpainting: the N(0,1) noise of the init image's VAE posterior sample [B,4,h,w].</summary>
    public FloatTensor? ImageSampleNoise { get; init; }

    /// <summary>Parity/testing, inpainting: the N(0,1) noise of the masked image's VAE posterior sample [B,4,h,w].</summary>
    public FloatTensor? MaskedImageSampleNoise { get; init; }

    /// <summary>
    /// Parity/testing, inpainting: diffusers' <c>latents</c> argument [B,4,h,w]. As diffusers 0.26 does, they start denoising times
    /// init_noise_sigma whatever the strength (which then only picks the schedule's tail), instead of noised image latents.
    /// </summary>
    public FloatTensor? PassedLatents { get; init; }

    /// <summary>Parity/testing: the ancestral noise of each step [B,4,h,w] instead of the seeded generator's.</summary>
    public IReadOnlyList<FloatTensor>? StepNoise { get; init; }

    /// <summary>Skip VAE decoding and return latents only (the server decodes later, e.g. refine-on-pause).</summary>
    public bool LatentsOnly { get; init; }

    /// <summary>ControlNets steering this generation (none by default); needs a UNet built with the residual inputs.</summary>
    public IReadOnlyList<ControlInput> Controls { get; init; } = [];

    /// <summary>Image-to-image: <see cref="InitImage"/> is set.</summary>
    public bool IsImageToImage => InitImage is not null;

    /// <summary>
    /// Guidance is on: <see cref="GuidanceScale"/> &gt; 1. Then classifier-free guidance uses <see cref="NegativePrompt"/> and
    /// runs every step's UNet on twice the batch (conditional + unconditional), except for an LCM-distilled UNet, which gets
    /// the scale through its guidance-scale embedding (one batch, no negative prompt), as diffusers does.
    /// </summary>
    public bool UsesGuidance => GuidanceScale > 1f;

    /// <summary>Checks every field; throws <see cref="InvalidRequestException"/> naming the first bad one.</summary>
    public (int Width, int Height) Validate(int defaultSize)
    {
        int w = Width ?? defaultSize, h = Height ?? defaultSize;
        CheckSide("width", w);
        CheckSide("height", h);
        if (Steps is < 1 or > MaxSteps)
            throw new InvalidRequestException("steps", $"steps must be between 1 and {MaxSteps} (got {Steps}).");
        if (BatchSize is < 1 or > MaxBatch)
            throw new InvalidRequestException("batch_size", $"batch size must be between 1 and {MaxBatch} (got {BatchSize}).");
        if (!float.IsFinite(GuidanceScale) || GuidanceScale is < 0 or > MaxGuidanceScale)
            throw new InvalidRequestException("guidance_scale", $"guidance scale must be between 0 and {MaxGuidanceScale} (got {GuidanceScale}).");
        if (IsImageToImage && (!float.IsFinite(Strength) || Strength <= 0 || Strength > 1))
            throw new InvalidRequestException("strength", $"strength must be in (0, 1] (got {Strength}).");
        if (Seed is < 0)
            throw new InvalidRequestException("seed", $"seed must be ≥ 0 (got {Seed}); leave it empty for a random seed.");
        if (Prompt is null)
            throw new InvalidRequestException("prompt", "prompt is required.");
        CheckPrompt("prompt", Prompt);
        CheckPrompt("negative_prompt", NegativePrompt);
        if (Mask is not null)
        {
            if (InitImage is null) throw new InvalidRequestException("mask", "A mask needs an init image to inpaint.");
            Mask.Validate(InitImage.Width, InitImage.Height);
        }
        for (int i = 0; i < (Controls?.Count ?? 0); i++)
            Controls![i].Validate(i);
        long[] latentShape = [BatchSize, 4, h / 8, w / 8];
        if (InitialNoise is not null && !InitialNoise.Shape.SequenceEqual(latentShape))
            throw new InvalidRequestException("initial_noise", $"initial noise has shape {InitialNoise}, expected [{string.Join(",", latentShape)}].");
        return (w, h);
    }

    /// <summary>
    /// The side rule every front end shares: a multiple of <see cref="SideMultiple"/> from <see cref="MinSide"/> to
    /// <see cref="MaxSide"/>. <paramref name="field"/> is the request field reported; <paramref name="what"/> names the value in the message.
    /// </summary>
    public static void CheckSide(string field, int value, string? what = null)
    {
        if (value is < MinSide or > MaxSide || value % SideMultiple != 0)
            throw new InvalidRequestException(field, $"{what ?? field} must be a multiple of {SideMultiple} between {MinSide} and {MaxSide} (got {value}).");
    }

    /// <summary>
    /// The prompt rule every front end shares: at most <see cref="MaxPromptChars"/> characters, and no control
    /// characters other than tab, line feed and carriage return (they cannot be stored in PNG text metadata and carry
    /// no meaning for the text encoder). Violations name <paramref name="field"/>.
    /// </summary>
    public static void CheckPrompt(string field, string? text)
    {
        if (text is null) return;
        if (text.Length > MaxPromptChars)
            throw new InvalidRequestException(field, $"{field} is {text.Length} characters long; at most {MaxPromptChars} are accepted.");
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsControl(c) && c is not ('\t' or '\n' or '\r'))
                throw new InvalidRequestException(field, $"{field} contains the control character U+{(int)c:X4} at position {i}; only tab, line feed and carriage return are accepted.");
        }
    }
}

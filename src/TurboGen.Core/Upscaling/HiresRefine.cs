using TurboGen.Imaging;
using TurboGen.Pipelines;

namespace TurboGen.Upscaling;

/// <summary>The second pass of a hires fix: image-to-image over the upscaled picture.</summary>
public sealed record HiresOptions
{
    /// <summary>The prompt of the refining pass (A1111 uses the first pass's); empty by default.</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The negative prompt; used only when <see cref="GuidanceScale"/> &gt; 1.</summary>
    public string NegativePrompt { get; init; } = "";

    /// <summary>Denoising steps actually run (A1111's <c>hr_second_pass_steps</c>; turbo models: 1–2).</summary>
    public int Steps { get; init; } = 2;

    /// <summary>How much of the schedule is re-run (A1111's <c>denoising_strength</c>).</summary>
    public float Strength { get; init; } = 0.3f;

    /// <summary>Seed of the refining noise; null: <see cref="HiresRefine.HiresFix"/> reuses each image's first-pass seed, <see cref="HiresRefine.Refine"/> draws a random one.</summary>
    public long? Seed { get; init; }

    /// <summary>Classifier-free guidance scale of the refining pass; only values &gt; 1 enable it (default 0: off, as turbo models want).</summary>
    public float GuidanceScale { get; init; }

    /// <summary>Overlap of refine tiles in pixels (a multiple of 8).</summary>
    public int TileOverlap { get; init; } = 64;

    /// <summary>Checks the fields, naming the bad one.</summary>
    public void Validate()
    {
        if (Steps is < 1 or > GenerationRequest.MaxSteps)
            throw new InvalidRequestException("hr_second_pass_steps", $"hires steps must be between 1 and {GenerationRequest.MaxSteps} (got {Steps}).");
        if (!float.IsFinite(Strength) || Strength <= 0 || Strength > 1)
            throw new InvalidRequestException("denoising_strength", $"denoising strength must be in (0, 1] (got {Strength}).");
        GenerationRequest.CheckPrompt("prompt", Prompt);
        GenerationRequest.CheckPrompt("negative_prompt", NegativePrompt);
    }
}

/// <summary>
/// "Hires" refinement as A1111's hires fix and the tiled SD upscalers do it, on <see cref="TurboPipeline"/>'s image-to-image:
/// the upscaled image is re-noised to a low strength and denoised with the prompt at its new size. The schedule is made long
/// enough that <see cref="HiresOptions.Steps"/> steps run at <see cref="HiresOptions.Strength"/> (k = int(n·strength)).
/// Images larger than the model's comfort (twice its native size per side) are refined in overlapping tiles of that size, all
/// with the same seed and prompt, feather-blended by <see cref="TileBlender"/>.
/// </summary>
public static class HiresRefine
{
    /// <summary>The largest side of a refined image (larger ones are refined in tiles of <see cref="ComfortSide"/>).</summary>
    public const int MaxSide = 4096;

    /// <summary>The largest side refined in one piece: twice the model's native size (SD/SDXL-Turbo: 1024), at most the request limit.</summary>
    public static int ComfortSide(TurboPipeline pipeline) => Math.Min(GenerationRequest.MaxSide, pipeline.Model.DefaultSize * 2);

    /// <summary>The nearest size with sides that are multiples of 8 (and at least 64), which image-to-image needs.</summary>
    public static (int Width, int Height) RefineSize(int width, int height) =>
        (Math.Max(GenerationRequest.MinSide, (width + 4) / 8 * 8), Math.Max(GenerationRequest.MinSide, (height + 4) / 8 * 8));

    /// <summary>The schedule length that runs <paramref name="steps"/> steps at <paramref name="strength"/>.</summary>
    public static int ScheduleSteps(int steps, float strength) =>
        Math.Min(GenerationRequest.MaxSteps, Math.Max(steps, (int)Math.Ceiling(steps / (double)strength - 1e-6)));

    /// <summary>Refines <paramref name="image"/> (sides multiples of 8) at its size, in tiles when it is larger than <see cref="ComfortSide"/>.</summary>
    public static RgbImage Refine(TurboPipeline pipeline, RgbImage image, HiresOptions options, CancellationToken cancellationToken = default,
        StageTimings? timings = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (image.Width % 8 != 0 || image.Height % 8 != 0)
        {
            throw new InvalidRequestException("image", $"a refined image needs sides that are multiples of 8 (got {image.Width}x{image.Height}).");
        }
        int comfort = ComfortSide(pipeline);
        if (image.Width <= comfort && image.Height <= comfort)
        {
            return RefineTile(pipeline, image, options, cancellationToken, timings);
        }
        int overlap = Math.Clamp(options.TileOverlap / 8 * 8, 8, comfort / 4 / 8 * 8);
        var xs = TilePlan.Spans(image.Width, comfort, overlap, 8);
        var ys = TilePlan.Spans(image.Height, comfort, overlap, 8);
        var blender = new TileBlender(image.Width, image.Height, ys.Max(s => s.Length));
        foreach (var y in ys)
        {
            blender.FinishRowsAbove(y.Start);
            foreach (var x in xs)
            {
                var tile = Crop(image, x.Start, y.Start, x.Length, y.Length);
                var refined = RefineTile(pipeline, tile, options, cancellationToken, timings);
                var planes = new float[3 * refined.Width * refined.Height];
                ImageTensors.ToNchw(refined, planes, minusOneToOne: false);
                var xw = x;
                var yw = y;
                blender.Add(planes, x.Start, y.Start, x.Length, y.Length, i => TilePlan.Weight(xw, i), j => TilePlan.Weight(yw, j));
            }
        }
        return blender.Finish();
    }

    /// <summary>
    /// A1111's hires fix on a text-to-image request: the first pass at the request's size, each image upscaled to
    /// <paramref name="width"/>×<paramref name="height"/> (rounded to multiples of 8) by <paramref name="upscaler"/>, then refined.
    /// The result carries the refined images and the first pass's seeds and latents.
    /// </summary>
    public static GenerationResult HiresFix(TurboPipeline pipeline, GenerationRequest request, IUpscaler upscaler, int width, int height, HiresOptions options,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(upscaler);
        options.Validate();
        var (w, h) = RefineSize(width, height);
        if (w > MaxSide || h > MaxSide)
        {
            throw new InvalidRequestException("hr_scale", $"the hires size {w}x{h} is too large; refined images are at most {MaxSide}x{MaxSide}.");
        }
        var first = pipeline.Generate(request with { LatentsOnly = false }, progress, cancellationToken);
        var images = new List<RgbImage>(first.Images.Count);
        for (int i = 0; i < first.Images.Count; i++)
        {
            progress?.Report(new GenerationProgress("hires", i, first.Images.Count, TimeSpan.Zero));
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var upscaled = upscaler.Upscale(first.Images[i], w, h, cancellationToken);
            first.Timings.Add("hires.upscale", sw.Elapsed.TotalMilliseconds);
            images.Add(Refine(pipeline, upscaled, options with { Seed = options.Seed ?? first.Seeds[i] }, cancellationToken, first.Timings));
        }
        return first with { Images = images, Width = w, Height = h };
    }

    private static RgbImage RefineTile(TurboPipeline pipeline, RgbImage tile, HiresOptions options, CancellationToken ct, StageTimings? timings)
    {
        var result = pipeline.Generate(new GenerationRequest
        {
            Prompt = options.Prompt,
            NegativePrompt = options.NegativePrompt,
            Width = tile.Width,
            Height = tile.Height,
            Steps = ScheduleSteps(options.Steps, options.Strength),
            Strength = options.Strength,
            Seed = options.Seed,
            GuidanceScale = options.GuidanceScale,
            InitImage = tile,
        }, null, ct);
        if (timings is not null)
        {
            foreach (var s in result.Timings.Stages) timings.Add("hires." + s.Stage, s.Milliseconds, s.OnnxMilliseconds);
        }
        return result.Images[0];
    }

    private static RgbImage Crop(RgbImage image, int x0, int y0, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Array.Copy(image.Pixels, ((long)(y0 + y) * image.Width + x0) * 3, pixels, (long)y * width * 3, width * 3);
        }
        return new RgbImage(width, height, pixels);
    }
}

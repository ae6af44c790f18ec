using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// The inpainting part of <see cref="TurboPipeline"/> (diffusers 0.26 <c>StableDiffusionInpaintPipeline</c> semantics), made once
/// per request with a <see cref="GenerationRequest.Mask"/>. It prepares the starting latents and, each step, either
/// <list type="bullet">
/// <item>extends the UNet input of a 9-channel inpainting UNet to [latents, mask, masked-image latents], or</item>
/// <item>for an ordinary 4-channel UNet, blends the result with the image latents noised to the next step's level:
/// x = (1 − m)·(image_latents + noise·σ(tᵢ₊₁)) + m·x, with the un-noised image latents after the last step.</item>
/// </list>
/// The mask (inverted, blurred) is sized like the image, binarised at 128 (v/255 ≥ 0.5) and taken to latent size by nearest
/// pixel (the top-left pixel of each 8×8 cell). Every VAE encode is a posterior sample; noise is drawn per image in
/// diffusers' order: init-image sample (when its latents are needed), initial noise, masked-image sample (9-channel only).
/// Strength 1 starts from pure noise·init_noise_sigma; below 1 from the (filled) image latents noised to the first timestep.
/// </summary>
public sealed class InpaintStage
{
    private readonly IScheduler _scheduler;
    private readonly float[] _maskLatent;          // [h·w], 0 keep / 1 repaint
    private readonly FloatTensor? _maskedLatents;  // [B,4,h,w], 9-channel UNet only
    private readonly FloatTensor? _imageLatents;   // [B,4,h,w], 4-channel UNet (and strength < 1)
    private readonly FloatTensor _initialNoise;    // [B,4,h,w]

    private InpaintStage(IScheduler scheduler, LatentStart start, float[] maskLatent, FloatTensor? maskedLatents, FloatTensor? imageLatents,
        FloatTensor initialNoise, RgbImage image, byte[] mask, bool nineChannel)
    {
        _scheduler = scheduler;
        Start = start;
        _maskLatent = maskLatent;
        _maskedLatents = maskedLatents;
        _imageLatents = imageLatents;
        _initialNoise = initialNoise;
        Image = image;
        Mask = mask;
        UsesInpaintingUnet = nineChannel;
    }

    /// <summary>Where denoising starts.</summary>
    public LatentStart Start { get; }

    /// <summary>The init image at the output size (what a feathered result is composited over).</summary>
    public RgbImage Image { get; }

    /// <summary>The processed mask at the output size (inverted, blurred; not binarised), one byte per pixel.</summary>
    public byte[] Mask { get; }

    /// <summary>True for a 9-channel inpainting UNet, false for latent blending with a 4-channel one.</summary>
    public bool UsesInpaintingUnet { get; }

    /// <summary>Prepares the stage for <paramref name="request"/> (which has a mask and an init image).</summary>
    /// <exception cref="ModelContractException">The UNet's sample input has neither 4 nor 9 channels.</exception>
    public static InpaintStage Prepare(TurboModel model, IScheduler scheduler, GenerationRequest request, int width, int height,
        NoiseStream[] noise, StageTimings timings, CancellationToken ct)
    {
        var spec = request.Mask ?? throw new ArgumentException("The request has no mask.", nameof(request));
        int channels = model.Unet.SampleChannels;
        if (channels is not (4 or 9))
        {
            throw new ModelContractException(model.Unet.Path, $"The unet's sample input has {channels} channels; inpainting needs 4 (latent blending) or 9 (an inpainting UNet).");
        }
        bool nine = channels == 9;
        var encoder = LatentEncoder.For(model, request, "Inpainting");
        var sw = Stopwatch.StartNew();
        var image = ImageOps.ResizeCover(request.InitImage!, width, height);
        byte[] mask = spec.Processed();
        if (spec.Width != width || spec.Height != height)
        {
            mask = MaskOps.FromGrey(ImageOps.ResizeCover(MaskOps.ToGrey(mask, spec.Width, spec.Height), width, height));
        }
        int h = height / 8, w = width / 8, batch = noise.Length, plane = 4 * h * w;
        var maskLatent = new float[h * w];
        for (int i = 0; i < h; i++)
        {
            for (int j = 0; j < w; j++) maskLatent[i * w + j] = mask[8 * i * width + 8 * j] >= 128 ? 1f : 0f;
        }
        timings.Add("inpaint.prepare", sw.Elapsed.TotalMilliseconds);

        bool fromNoise = request.Strength >= 1f, passed = request.PassedLatents is not null;
        FloatTensor? imageLatents = null;
        if (!nine || !(fromNoise || passed))
        {
            var source = spec.Fill == InpaintFill.Fill ? MaskOps.Fill(image, mask) : image;
            imageLatents = EncodeSample(encoder, source, null, batch, h, w, request.ImageSampleNoise, noise, encoder.Stage, timings, ct);
        }
        var initialNoise = request.InitialNoise ?? request.PassedLatents ?? TextToImageInit.Draw(noise, h, w);
        FloatTensor? maskedLatents = null;
        if (nine)
        {
            maskedLatents = EncodeSample(encoder, image, mask, batch, h, w, request.MaskedImageSampleNoise, noise, encoder.Stage + ".masked_image", timings, ct);
        }
        if (imageLatents is not null && spec.Fill is InpaintFill.LatentNoise or InpaintFill.LatentNothing)
        {
            var fill = new float[plane];
            for (int b = 0; b < batch; b++)
            {
                if (spec.Fill == InpaintFill.LatentNoise) noise[b].Next(fill);
                var x = imageLatents.Data.AsSpan(b * plane, plane);
                for (int k = 0; k < plane; k++)
                {
                    float m = maskLatent[k % (h * w)];
                    x[k] = x[k] * (1 - m) + fill[k] * m;
                }
            }
        }

        LatentStart start;
        if (fromNoise || passed)
        {
            var schedule = fromNoise ? scheduler.SetTimesteps(request.Steps) : scheduler.SetTimestepsForStrength(request.Steps, request.Strength);
            var x = (request.PassedLatents ?? initialNoise).Data.Select(v => v * schedule.InitNoiseSigma).ToArray();
            start = new LatentStart(schedule, new FloatTensor(x, [batch, 4, h, w]));
        }
        else
        {
            var schedule = scheduler.SetTimestepsForStrength(request.Steps, request.Strength);
            var x = new float[batch * plane];
            scheduler.AddNoise(schedule, imageLatents!.Data, initialNoise.Data, x);
            start = new LatentStart(schedule, new FloatTensor(x, [batch, 4, h, w]));
        }
        return new InpaintStage(scheduler, start, maskLatent, maskedLatents, nine ? null : imageLatents, initialNoise, image, mask, nine);
    }

    /// <summary>
    /// The UNet's sample input for the scaled latents <paramref name="scaled"/> [B′,4,h,w] (B′ = B, or 2B with guidance): for a
    /// 9-channel UNet each item becomes [latents, mask, masked-image latents] (item k takes masked latents k mod B); otherwise unchanged.
    /// </summary>
    public FloatTensor UnetInput(FloatTensor scaled)
    {
        if (_maskedLatents is null) return scaled;
        int items = (int)scaled.Shape[0], batch = (int)_maskedLatents.Shape[0];
        int hw = _maskLatent.Length, plane = 4 * hw;
        var data = new float[items * 9 * hw];
        for (int k = 0; k < items; k++)
        {
            var dst = data.AsSpan(k * 9 * hw, 9 * hw);
            scaled.Data.AsSpan(k * plane, plane).CopyTo(dst);
            _maskLatent.CopyTo(dst.Slice(plane, hw));
            _maskedLatents.Data.AsSpan(k % batch * plane, plane).CopyTo(dst.Slice(plane + hw));
        }
        return new FloatTensor(data, [items, 9, scaled.Shape[2], scaled.Shape[3]]);
    }

    /// <summary>After step <paramref name="i"/> of <paramref name="schedule"/>: the 4-channel latent blend (in place); nothing for a 9-channel UNet.</summary>
    public void AfterStep(Schedule schedule, int i, float[] latents)
    {
        if (_imageLatents is null) return;
        float[] proper;
        if (i < schedule.StepCount - 1)
        {
            var next = new Schedule(schedule.Timesteps.Skip(i + 1).ToList(), schedule.Sigmas.Skip(i + 1).ToList(), schedule.InitNoiseSigma, schedule.BeginIndex + i + 1);
            proper = new float[latents.Length];
            _scheduler.AddNoise(next, _imageLatents.Data, _initialNoise.Data, proper);
        }
        else
        {
            proper = _imageLatents.Data;
        }
        int hw = _maskLatent.Length;
        for (int k = 0; k < latents.Length; k++)
        {
            float m = _maskLatent[k % hw];
            latents[k] = (1 - m) * proper[k] + m * latents[k];
        }
    }

    /// <summary>The decoded image composited over the init image through the (blurred) mask.</summary>
    public RgbImage Feather(RgbImage generated) => MaskOps.Composite(generated, Image, Mask);

    /// <summary>
    /// Encodes <paramref name="image"/> (with <paramref name="mask"/> ≥ 128 set to 0 in [-1,1], i.e. mid-grey, when given), then per
    /// image a posterior sample (mean + std·ε, ε from <paramref name="given"/> or the image's stream) times the scaling factor.
    /// </summary>
    private static FloatTensor EncodeSample(LatentEncoder encoder, RgbImage image, byte[]? mask, int batch, int h, int w,
        FloatTensor? given, NoiseStream[] noise, string stage, StageTimings timings, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        int width = image.Width, height = image.Height, pixelsPerPlane = width * height;
        var pixels = new float[3 * pixelsPerPlane];
        ImageTensors.ToNchw(image, pixels);
        if (mask is not null)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int p = 0; p < pixelsPerPlane; p++)
                {
                    if (mask[p] >= 128) pixels[c * pixelsPerPlane + p] = 0f;
                }
            }
        }
        var (encoding, onnxMs) = encoder.Encode(pixels, height, width, ct);
        timings.Add(stage, sw.Elapsed.TotalMilliseconds, onnxMs);
        int plane = encoding.Mean.Length;
        if (given is not null && given.Length != batch * plane)
        {
            throw new InvalidRequestException("sample_noise", $"VAE sample noise has shape {given}, expected [{batch},4,{h},{w}].");
        }
        var latents = VaeLatents.Sample(encoding, encoder.ScalingFactor, batch, (b, eps) =>
        {
            if (given is not null) given.Data.AsSpan(b * plane, plane).CopyTo(eps);
            else noise[b].Next(eps);
        });
        return new FloatTensor(latents, [batch, 4, h, w]);
    }
}

using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>Where the denoising loop starts: the schedule to run and the starting latents [B,4,h,w].</summary>
public sealed record LatentStart(Schedule Schedule, FloatTensor Latents);

/// <summary>Prepares the starting latents for one task (text-to-image or image-to-image).</summary>
public interface ILatentInit
{
    /// <summary>The schedule to run and the starting latents [B,4,h,w] (h, w = height/8, width/8) for <paramref name="request"/>.</summary>
    /// <param name="scheduler">The pipeline's scheduler.</param>
    /// <param name="request">The validated request.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="noise">One seeded stream per image (seed + i), drawn from in a fixed order.</param>
    /// <param name="timings">Receives the stages it runs (e.g. vae_encode).</param>
    /// <param name="cancellationToken">Stops an encoder run.</param>
    LatentStart Prepare(IScheduler scheduler, GenerationRequest request, int width, int height, NoiseStream[] noise, StageTimings timings, CancellationToken cancellationToken);
}

/// <summary>Text-to-image: x = N(0,1) · init_noise_sigma over the full schedule (MODEL-CONTRACT §4.4).</summary>
public sealed class TextToImageInit : ILatentInit
{
    /// <inheritdoc/>
    public LatentStart Prepare(IScheduler scheduler, GenerationRequest request, int width, int height, NoiseStream[] noise, StageTimings timings, CancellationToken ct)
    {
        var schedule = scheduler.SetTimesteps(request.Steps);
        var latents = request.InitialNoise is { } given
            ? new FloatTensor((float[])given.Data.Clone(), (long[])given.Shape.Clone())
            : Draw(noise, height / 8, width / 8);
        var span = latents.Data.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] *= schedule.InitNoiseSigma;
        return new LatentStart(schedule, latents);
    }

    /// <summary>One N(0,1) latent per image, each from that image's own stream (seed + i).</summary>
    internal static FloatTensor Draw(NoiseStream[] noise, int h, int w)
    {
        int plane = 4 * h * w;
        var data = new float[noise.Length * plane];
        for (int b = 0; b < noise.Length; b++) noise[b].Next(data.AsSpan(b * plane, plane));
        return new FloatTensor(data, [noise.Length, 4, h, w]);
    }
}

/// <summary>
/// Image-to-image (MODEL-CONTRACT §4.5, §5.2): the init image is resized/cropped to the requested size, encoded
/// (mean + std·ε when the encoder returns distribution parameters; by the tiny VAE's encoder when the request decodes with the
/// tiny VAE, <see cref="LatentEncoder"/>), scaled by the VAE scaling factor, then noised
/// to the first timestep of the strength-truncated schedule. Noise order per image: posterior sample, then add_noise.
/// </summary>
public sealed class ImageToImageInit(TurboModel model) : ILatentInit
{
    /// <inheritdoc/>
    public LatentStart Prepare(IScheduler scheduler, GenerationRequest request, int width, int height, NoiseStream[] noise, StageTimings timings, CancellationToken ct)
    {
        var encoder = LatentEncoder.For(model, request, "Image-to-image");
        var schedule = scheduler.SetTimestepsForStrength(request.Steps, request.Strength);
        var sw = Stopwatch.StartNew();
        var image = ImageOps.ResizeCover(request.InitImage!, width, height);
        var pixels = new float[3 * width * height];
        ImageTensors.ToNchw(image, pixels);
        var (encoding, onnxMs) = encoder.Encode(pixels, height, width, ct);
        timings.Add(encoder.Stage, sw.Elapsed.TotalMilliseconds, onnxMs);

        int batch = noise.Length;
        var latents = VaeLatents.Sample(encoding, encoder.ScalingFactor, batch, (b, eps) => noise[b].Next(eps));
        var init = new FloatTensor(latents, [batch, 4, height / 8, width / 8]);
        var addNoise = request.InitialNoise ?? TextToImageInit.Draw(noise, height / 8, width / 8);
        var noised = new float[init.Length];
        scheduler.AddNoise(schedule, init.Data, addNoise.Data, noised);
        return new LatentStart(schedule, new FloatTensor(noised, init.Shape));
    }
}

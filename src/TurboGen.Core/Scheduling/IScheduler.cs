namespace TurboGen.Scheduling;

/// <summary>
/// A diffusers-compatible sampler reduced to pure functions: the schedule is a value (<see cref="Schedule"/>) and every
/// verb takes it plus the step index, so one scheduler instance can serve concurrent generations. All tensor
/// arguments are flat float32 spans of equal length (the latent, e.g. 4×64×64 per image).
/// </summary>
public interface IScheduler
{
    /// <summary>The diffusers class this reproduces: "EulerAncestralDiscreteScheduler" or "EulerDiscreteScheduler".</summary>
    string Name { get; }

    /// <summary>True when <see cref="Step"/> consumes fresh N(0,1) noise every step (including the last).</summary>
    bool IsAncestral { get; }

    /// <summary>The full schedule for <paramref name="steps"/> denoising steps (txt2img).</summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..50.</exception>
    Schedule SetTimesteps(int steps);

    /// <summary>The image-to-image schedule: the tail of the <paramref name="steps"/>-step schedule that
    /// <paramref name="strength"/> selects (see the implementation for the exact rule).</summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..50 or "strength" outside (0, 1].</exception>
    Schedule SetTimestepsForStrength(int steps, float strength);

    /// <summary>The factor <see cref="ScaleModelInput"/> applies at step <paramref name="i"/>: 1/sqrt(σᵢ²+1).</summary>
    float ScaleFactor(Schedule s, int i);

    /// <summary>destination = sample / sqrt(σᵢ²+1), the UNet input at step <paramref name="i"/>. May run in place.</summary>
    void ScaleModelInput(Schedule s, int i, ReadOnlySpan<float> sample, Span<float> destination);

    /// <summary>
    /// One denoising step from σᵢ to σᵢ₊₁. <paramref name="noise"/> is N(0,1) noise of the sample's length for
    /// ancestral schedulers and ignored (may be empty) otherwise. <paramref name="predOriginalSample"/> receives the
    /// predicted clean latent x0 (for previews) unless empty. <paramref name="prevSample"/> may alias <paramref name="sample"/>.
    /// </summary>
    void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, ReadOnlySpan<float> noise,
        Span<float> prevSample, Span<float> predOriginalSample);

    /// <summary>Image-to-image start latent: destination = original + noise·Sigmas[0]. May run in place.</summary>
    void AddNoise(Schedule s, ReadOnlySpan<float> original, ReadOnlySpan<float> noise, Span<float> destination);
}

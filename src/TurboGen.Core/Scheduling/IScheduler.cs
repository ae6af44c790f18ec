namespace TurboGen.Scheduling;

/// <summary>
/// A diffusers-compatible sampler reduced to pure functions: the schedule is a value (<see cref="Schedule"/>) and every
/// verb takes it plus the step index, so one scheduler instance can serve concurrent generations. All tensor
/// arguments are flat float32 spans of equal length (the latent, e.g. 4×64×64 per image).
/// </summary>
public interface IScheduler
{
    /// <summary>The diffusers class this reproduces: "EulerAncestralDiscreteScheduler", "EulerDiscreteScheduler", "LCMScheduler" or "TCDScheduler".</summary>
    string Name { get; }

    /// <summary>The AUTOMATIC1111 sampler name: "Euler a", "Euler", "LCM" or "TCD".</summary>
    string SamplerName { get; }

    /// <summary>
    /// True when <see cref="Step"/> consumes fresh N(0,1) noise. Callers draw it every step, the last included (the Euler
    /// ancestral step uses it there with weight 0; LCM and TCD ignore it at the last step).
    /// </summary>
    bool IsAncestral { get; }

    /// <summary>The full schedule for <paramref name="steps"/> denoising steps (txt2img).</summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..50.</exception>
    Schedule SetTimesteps(int steps);

    /// <summary>The image-to-image schedule: the tail of the <paramref name="steps"/>-step schedule that
    /// <paramref name="strength"/> selects (see the implementation for the exact rule).</summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..50 or "strength" outside (0, 1].</exception>
    Schedule SetTimestepsForStrength(int steps, float strength);

    /// <summary>The factor <see cref="ScaleModelInput"/> applies at step <paramref name="i"/>: 1/sqrt(σᵢ²+1) for Euler, 1 for LCM/TCD.</summary>
    float ScaleFactor(Schedule s, int i);

    /// <summary>destination = sample · <see cref="ScaleFactor"/>, the UNet input at step <paramref name="i"/>. May run in place.</summary>
    void ScaleModelInput(Schedule s, int i, ReadOnlySpan<float> sample, Span<float> destination);

    /// <summary>
    /// One denoising step from σᵢ to σᵢ₊₁. <paramref name="noise"/> is N(0,1) noise of the sample's length for
    /// ancestral schedulers and ignored (may be empty) otherwise. <paramref name="predOriginalSample"/> receives the
    /// predicted clean latent (for previews; LCM: its <c>denoised</c>) unless empty. <paramref name="prevSample"/> may alias <paramref name="sample"/>.
    /// </summary>
    void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, ReadOnlySpan<float> noise,
        Span<float> prevSample, Span<float> predOriginalSample);

    /// <summary>
    /// Image-to-image start latent at the schedule's first timestep t₀: original + noise·Sigmas[0] (Euler) or
    /// sqrt(ᾱ_t₀)·original + sqrt(1 − ᾱ_t₀)·noise (LCM/TCD). May run in place.
    /// </summary>
    void AddNoise(Schedule s, ReadOnlySpan<float> original, ReadOnlySpan<float> noise, Span<float> destination);
}

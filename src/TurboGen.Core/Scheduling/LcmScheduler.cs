namespace TurboGen.Scheduling;

/// <summary>
/// diffusers' <c>LCMScheduler</c> (Latent Consistency Models, LCM-LoRA): the consistency function's prediction
/// <c>denoised = c_out·x0 + c_skip·x</c> with the boundary conditions of the scaled integer timestep
/// <c>τ = timestep_scaling·t</c>: <c>c_skip = 0.25/(τ² + 0.25)</c>, <c>c_out = τ/sqrt(τ² + 0.25)</c> (σ_data = 0.5; for
/// τ in the hundreds c_out rounds to 1 and c_skip is ≈ 1e-8). Between steps the denoised latent is noised again to the
/// next timestep with fresh noise: <c>prev = sqrt(ᾱ_next)·denoised + sqrt(1 − ᾱ_next)·noise</c>; the last step returns
/// <c>denoised</c> and draws nothing. Schedule and image-to-image rules: <see cref="ConsistencySchedulerBase"/>.
/// </summary>
public sealed class LcmScheduler(SchedulerConfig config, ImageToImageRule imageToImage = ImageToImageRule.ShortenOrigin)
    : ConsistencySchedulerBase(config, imageToImage)
{
    /// <summary>The scheduler config's <c>_class_name</c> this class implements: "LCMScheduler".</summary>
    public const string ClassName = "LCMScheduler";

    /// <inheritdoc/>
    public override string Name => ClassName;

    /// <inheritdoc/>
    public override string SamplerName => "LCM";

    /// <summary>True: every step but the last adds fresh noise.</summary>
    public override bool IsAncestral => true;

    /// <summary>(c_skip, c_out) for integer timestep <paramref name="timestep"/>, float32 as PyTorch computes them.</summary>
    public (float CSkip, float COut) BoundaryConditions(float timestep)
    {
        float scaled = timestep * (float)Config.TimestepScaling;
        float denominator = scaled * scaled + 0.25f;
        return (0.25f / denominator, scaled / MathF.Sqrt(denominator));
    }

    /// <summary>
    /// x0 from the model output (prediction_type), denoised = c_out·x0 + c_skip·x (written to
    /// <paramref name="predOriginalSample"/>), prev = sqrt(ᾱ_next)·denoised + sqrt(1 − ᾱ_next)·noise, or denoised at the last step.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="noise"/> is not the sample's length before the last step, or another span is not.</exception>
    public override void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample)
    {
        StepChecks.Validate(s, i, modelOutput, sample, prevSample, predOriginalSample);
        bool last = i == s.StepCount - 1;
        if (!last) StepChecks.RequireLength(noise.Length, sample.Length, nameof(noise));
        float t = s.Timesteps[i];
        var predictor = new Predictor(Prediction, AlphaBar(t));
        (float cSkip, float cOut) = BoundaryConditions(t);
        float alphaNext = AlphaBar(last ? t : s.Timesteps[i + 1]);
        float signal = MathF.Sqrt(alphaNext), noiseScale = MathF.Sqrt(1f - alphaNext);
        bool writeDenoised = !predOriginalSample.IsEmpty;
        for (int j = 0; j < sample.Length; j++)
        {
            float x = sample[j];
            float x0 = predictor.Original(x, modelOutput[j]);
            float denoised = cOut * x0 + cSkip * x;
            if (writeDenoised) predOriginalSample[j] = denoised;
            prevSample[j] = last ? denoised : signal * denoised + noiseScale * noise[j];
        }
    }
}

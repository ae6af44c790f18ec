namespace TurboGen.Scheduling;

/// <summary>
/// diffusers' <c>EulerAncestralDiscreteScheduler</c> (SDXL-Turbo's sampler). Each step splits the move from σ to
/// σ_next into a deterministic Euler step down to σ_down and fresh noise of standard deviation σ_up
/// (σ_down² + σ_up² = σ_next²), so <see cref="Step"/> needs N(0,1) noise every step, the last one included (where
/// σ_up = 0). prediction_type "sample" is rejected, as diffusers 0.26 raises NotImplementedError for it. See <see cref="EulerSchedulerBase"/> for the shared schedule maths.
/// </summary>
public sealed class EulerAncestralDiscreteScheduler(SchedulerConfig config) : EulerSchedulerBase(config, supportsSamplePrediction: false)
{
    /// <summary>The scheduler config's <c>_class_name</c> this class implements: "EulerAncestralDiscreteScheduler".</summary>
    public const string ClassName = "EulerAncestralDiscreteScheduler";

    /// <inheritdoc/>
    public override string Name => ClassName;

    /// <inheritdoc/>
    public override string SamplerName => "Euler a";

    /// <summary>True: every step, the last included, takes N(0,1) noise (weighted by σ_up, which is 0 at the last step).</summary>
    public override bool IsAncestral => true;

    /// <summary>
    /// The ancestral split of a step from <paramref name="sigmaFrom"/> to <paramref name="sigmaTo"/>, in float32:
    /// σ_up = sqrt(σ_to²·(σ_from² − σ_to²)/σ_from²), σ_down = sqrt(σ_to² − σ_up²). Both are 0 when σ_to = 0.
    /// Deliberately float32 like diffusers' step (which then matches the reference traces bit for bit): the
    /// cancellation in σ_to² − σ_up² makes σ_down differ from a float64 evaluation by about 1e-6 (0.1780011 vs
    /// 0.1779998 for the 2-step schedule).
    /// </summary>
    public static (float SigmaUp, float SigmaDown) AncestralSplit(float sigmaFrom, float sigmaTo)
    {
        float fromSquared = sigmaFrom * sigmaFrom;
        float toSquared = sigmaTo * sigmaTo;
        float sigmaUp = MathF.Sqrt(toSquared * (fromSquared - toSquared) / fromSquared);
        float sigmaDown = MathF.Sqrt(toSquared - sigmaUp * sigmaUp);
        return (sigmaUp, sigmaDown);
    }

    /// <summary>
    /// x0 = x − σ·ε (or the v-prediction form); prev = x + ((x − x0)/σ)·(σ_down − σ) + noise·σ_up, each operation
    /// rounded to float32 in diffusers' order.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="noise"/> is not the sample's length, or another span is not.</exception>
    public override void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample)
    {
        ValidateStep(s, i, modelOutput, sample, prevSample, predOriginalSample);
        RequireLength(noise.Length, sample.Length, nameof(noise));
        float sigma = s.Sigmas[i];
        (float sigmaUp, float sigmaDown) = AncestralSplit(sigma, s.Sigmas[i + 1]);
        EulerMove(Prediction(sigma), sigmaDown - sigma, modelOutput, sample, noise, sigmaUp, prevSample, predOriginalSample);
    }
}

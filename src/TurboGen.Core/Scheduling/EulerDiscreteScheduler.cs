namespace TurboGen.Scheduling;

/// <summary>
/// diffusers' <c>EulerDiscreteScheduler</c> with its default <c>s_churn = 0</c> (SD-Turbo's sampler): a deterministic
/// Euler step from σ to σ_next along the direction (x − x0)/σ; no noise is consumed. Only the config options
/// interpolation_type "linear", timestep_type "discrete", use_karras_sigmas false and final_sigmas_type "zero" are
/// supported. prediction_type "sample" (SDXL-Lightning's 1-step UNet predicts x0) takes x0 = the model output; the step is
/// still x + ((x − x0)/σ)·(σ_next − σ) as diffusers computes it, so one step returns x0 up to float32 rounding (≈ 3e-6).
/// See <see cref="EulerSchedulerBase"/> for the shared schedule maths.
/// </summary>
public sealed class EulerDiscreteScheduler : EulerSchedulerBase
{
    /// <summary>The scheduler config's <c>_class_name</c> this class implements: "EulerDiscreteScheduler".</summary>
    public const string ClassName = "EulerDiscreteScheduler";

    /// <exception cref="TurboGenException">An unsupported EulerDiscrete option (Karras sigmas, log-linear interpolation, ...).</exception>
    public EulerDiscreteScheduler(SchedulerConfig config) : base(config, supportsSamplePrediction: true)
    {
        if (config.InterpolationType != "linear")
        {
            throw new TurboGenException($"Unsupported interpolation_type \"{config.InterpolationType}\"; supported: linear.");
        }
        if (config.UseKarrasSigmas)
        {
            throw new TurboGenException("Unsupported scheduler option use_karras_sigmas = true.");
        }
        if (config.TimestepType != "discrete")
        {
            throw new TurboGenException($"Unsupported timestep_type \"{config.TimestepType}\"; supported: discrete.");
        }
        if (config.FinalSigmasType != "zero")
        {
            throw new TurboGenException($"Unsupported final_sigmas_type \"{config.FinalSigmasType}\"; supported: zero.");
        }
    }

    /// <inheritdoc/>
    public override string Name => ClassName;

    /// <inheritdoc/>
    public override string SamplerName => "Euler";

    /// <summary>False: the Euler step is deterministic and draws no noise.</summary>
    public override bool IsAncestral => false;


    /// <summary>x0 = x − σ·ε (or the v-prediction / sample form); prev = x + ((x − x0)/σ)·(σ_next − σ). <paramref name="noise"/> is ignored.</summary>
    public override void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample)
    {
        ValidateStep(s, i, modelOutput, sample, prevSample, predOriginalSample);
        float sigma = s.Sigmas[i];
        EulerMove(Prediction(sigma), s.Sigmas[i + 1] - sigma, modelOutput, sample, ReadOnlySpan<float>.Empty, 0f, prevSample, predOriginalSample);
    }
}

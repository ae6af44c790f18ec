namespace TurboGen.Scheduling;

/// <summary>
/// What diffusers' Euler and Euler-ancestral discrete schedulers share, reproduced in float32 to within rounding of
/// diffusers 0.26 on PyTorch.
/// <para>How it works: the config's betas give the training noise levels σₜ = sqrt((1−ᾱₜ)/ᾱₜ) for t = 0..999
/// (<see cref="NoiseTable"/>). <see cref="SetTimesteps"/> picks N timesteps with the configured spacing
/// (<see cref="TimestepSpacing"/>; the turbo models use "trailing": 999, 499 for N=2), looks up their sigmas and appends
/// σ = 0. The sampler starts from N(0,1)·<see cref="Schedule.InitNoiseSigma"/>; each step divides the latent by
/// sqrt(σ²+1) for the UNet (<see cref="ScaleModelInput"/>), turns the UNet's ε into the clean estimate
/// x0 = x − σ·ε and moves x along the straight line towards x0 from σᵢ to σᵢ₊₁ (<see cref="Step"/>, which the
/// ancestral variant splits into a deterministic part and fresh noise). The last step lands exactly on x0.
/// Image-to-image skips the first steps of the schedule and noises the encoded image to the first remaining sigma
/// (<see cref="SetTimestepsForStrength"/>, <see cref="AddNoise"/>).</para>
/// Instances are immutable and thread-safe; all state lives in the <see cref="Schedule"/> values they return.
/// </summary>
public abstract class EulerSchedulerBase : IScheduler
{
    /// <summary>The most steps a request may ask for.</summary>
    public const int MaxSteps = 50;

    private readonly PredictionKind _prediction;

    /// <param name="config">The scheduler config.</param>
    /// <param name="supportsSamplePrediction">Whether prediction_type "sample" (the UNet predicts x0) is implemented.</param>
    /// <exception cref="TurboGenException">A config option whose maths is not implemented.</exception>
    protected EulerSchedulerBase(SchedulerConfig config, bool supportsSamplePrediction)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _prediction = config.PredictionType switch
        {
            "epsilon" => PredictionKind.Epsilon,
            "v_prediction" => PredictionKind.VPrediction,
            "sample" or "original_sample" when supportsSamplePrediction => PredictionKind.Sample,
            _ => throw new TurboGenException(
                $"Unsupported prediction_type \"{config.PredictionType}\" for {config.ClassName}; supported: epsilon, v_prediction"
                + (supportsSamplePrediction ? ", sample." : " (diffusers' ancestral Euler does not implement \"sample\").")),
        };
        if (!TimestepSpacing.Supported.Contains(config.TimestepSpacing))
        {
            throw new TurboGenException(
                $"Unsupported timestep_spacing \"{config.TimestepSpacing}\"; supported: {string.Join(", ", TimestepSpacing.Supported)}.");
        }
        if (config.RescaleBetasZeroSnr)
        {
            throw new TurboGenException("Unsupported scheduler option rescale_betas_zero_snr = true.");
        }
        Table = new NoiseTable(config);
    }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract string SamplerName { get; }

    /// <inheritdoc/>
    public abstract bool IsAncestral { get; }

    /// <summary>The config this scheduler was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>The training noise tables (betas, ᾱ, training sigmas).</summary>
    public NoiseTable Table { get; }

    /// <summary>
    /// The full N-step schedule: timesteps per the configured spacing, sigmas looked up (interpolated for fractional
    /// timesteps) in the training sigmas plus a final 0, init_noise_sigma = max σ for "trailing"/"linspace" and
    /// sqrt(max σ² + 1) for "leading" (as diffusers 0.26).
    /// </summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..<see cref="MaxSteps"/> or above num_train_timesteps.</exception>
    public Schedule SetTimesteps(int steps)
    {
        ValidateSteps(steps);
        float[] timesteps = TimestepSpacing.Compute(Config.TimestepSpacing, steps, Config.NumTrainTimesteps, Config.StepsOffset);
        var sigmas = new float[timesteps.Length + 1];
        float maxSigma = 0;
        for (int i = 0; i < timesteps.Length; i++)
        {
            sigmas[i] = Table.SigmaAt(timesteps[i]);
            maxSigma = Math.Max(maxSigma, sigmas[i]);
        }
        float initNoiseSigma = Config.TimestepSpacing == TimestepSpacing.Leading
            ? MathF.Sqrt(maxSigma * maxSigma + 1f)
            : maxSigma;
        return new Schedule(timesteps, sigmas, initNoiseSigma, BeginIndex: 0);
    }

    /// <summary>
    /// The image-to-image schedule for <paramref name="steps"/> steps at <paramref name="strength"/>, diffusers'
    /// <c>get_timesteps</c> rule: <c>k = min(int(steps·strength), steps)</c>, skip the first <c>steps − k</c> entries
    /// of the full schedule and run the remaining k (e.g. steps 2, strength 0.5 → timestep 499, σ 1.6129, then 0;
    /// steps 4, strength 0.75 → 749, 499, 249). <c>steps·strength</c> is evaluated in double on the strength's shortest
    /// decimal form, so 0.7f behaves like Python's 0.7 (int(10 · 0.7) = 7).
    /// <para>TurboGen's deliberate exception: when <c>int(steps·strength) &lt; 1</c> diffusers would run no step and
    /// return the noised input. TurboGen instead runs ONE step from the timestep that a trailing schedule would put
    /// first for that strength: <c>t = round(T·strength) − 1</c> (T = num_train_timesteps, halves to even, clamped
    /// to 0..T−1), with σ = the training sigma at t and then 0. For steps 1, strength 0.5 that is timestep 499 with
    /// the same σ as the second step of the 2-step schedule. <see cref="Schedule.BeginIndex"/> is then
    /// <paramref name="steps"/> (every step of the full schedule was skipped).</para>
    /// </summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..<see cref="MaxSteps"/>, "strength" outside (0, 1].</exception>
    public Schedule SetTimestepsForStrength(int steps, float strength)
    {
        ValidateSteps(steps);
        double strengthDecimal = StepChecks.StrengthDecimal(strength);
        Schedule full = SetTimesteps(steps);
        int initTimestep = Math.Min((int)(steps * strengthDecimal), steps);
        if (initTimestep < 1)
        {
            int trainSteps = Config.NumTrainTimesteps;
            int t = (int)Math.Round(trainSteps * strengthDecimal, MidpointRounding.ToEven) - 1;
            t = Math.Clamp(t, 0, trainSteps - 1);
            return new Schedule([(float)t], [Table.SigmaAt(t), 0f], full.InitNoiseSigma, BeginIndex: steps);
        }
        int start = steps - initTimestep;
        return new Schedule(
            full.Timesteps.Skip(start).ToArray(),
            full.Sigmas.Skip(start).ToArray(),
            full.InitNoiseSigma,
            BeginIndex: start);
    }

    /// <summary>1/sqrt(σᵢ²+1) in float32.</summary>
    public float ScaleFactor(Schedule s, int i) => 1f / InputDivisor(SigmaAt(s, i));

    /// <summary>destination = sample / sqrt(σᵢ²+1), divided element by element as PyTorch does.</summary>
    public void ScaleModelInput(Schedule s, int i, ReadOnlySpan<float> sample, Span<float> destination)
    {
        float divisor = InputDivisor(SigmaAt(s, i));
        RequireLength(destination.Length, sample.Length, nameof(destination));
        for (int j = 0; j < sample.Length; j++)
        {
            destination[j] = sample[j] / divisor;
        }
    }

    /// <inheritdoc/>
    public abstract void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample);

    /// <summary>destination = original + noise·Sigmas[0] (diffusers add_noise at the schedule's first timestep).</summary>
    public void AddNoise(Schedule s, ReadOnlySpan<float> original, ReadOnlySpan<float> noise, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(s);
        RequireLength(noise.Length, original.Length, nameof(noise));
        RequireLength(destination.Length, original.Length, nameof(destination));
        float sigma = s.Sigmas[0];
        for (int j = 0; j < original.Length; j++)
        {
            destination[j] = original[j] + noise[j] * sigma;
        }
    }

    /// <summary>The clean-latent estimate x0 from the model output at noise level σ (prediction_type).</summary>
    protected PredictionCoefficients Prediction(float sigma) => _prediction == PredictionKind.VPrediction
        ? new PredictionCoefficients(_prediction, sigma, -sigma / InputDivisor(sigma), sigma * sigma + 1f)
        : new PredictionCoefficients(_prediction, sigma, 0f, 0f);

    /// <summary>
    /// The Euler move both variants make, element by element: x0 from the model output at σ (<paramref name="prediction"/>),
    /// derivative d = (x − x0)/σ, prev = x + d·dt, then + noise·<paramref name="noiseScale"/> when <paramref name="noise"/> is
    /// not empty (the ancestral part; a separate float32 add, in diffusers' order). x0 goes to <paramref name="predOriginalSample"/> when it is not empty.
    /// </summary>
    protected static void EulerMove(PredictionCoefficients prediction, float dt, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, float noiseScale, Span<float> prevSample, Span<float> predOriginalSample)
    {
        float sigma = prediction.Sigma;
        bool writeOriginal = !predOriginalSample.IsEmpty, ancestral = !noise.IsEmpty;
        for (int j = 0; j < sample.Length; j++)
        {
            float x = sample[j];
            float x0 = prediction.PredictOriginal(x, modelOutput[j]);
            float derivative = (x - x0) / sigma;
            float next = x + derivative * dt;
            if (ancestral) next += noise[j] * noiseScale;
            if (writeOriginal) predOriginalSample[j] = x0;
            prevSample[j] = next;
        }
    }

    /// <summary>What the UNet predicts.</summary>
    protected enum PredictionKind
    {
        /// <summary>"epsilon": the UNet predicts the added noise ε.</summary>
        Epsilon,

        /// <summary>"v_prediction": the UNet predicts v (x0 = v·(−σ/sqrt(σ²+1)) + x/(σ²+1)).</summary>
        VPrediction,

        /// <summary>"sample": the UNet predicts the clean latent x0 (EulerDiscrete only).</summary>
        Sample,
    }

    /// <summary>Per-step constants of the x0 prediction; <see cref="PredictOriginal"/> applies them to one element.</summary>
    protected readonly record struct PredictionCoefficients(PredictionKind Kind, float Sigma, float OutputScale, float SampleDivisor)
    {
        /// <summary>epsilon: x − σ·ε; v_prediction: v·(−σ/sqrt(σ²+1)) + x/(σ²+1); sample: the model output itself.</summary>
        public float PredictOriginal(float sample, float modelOutput) => Kind switch
        {
            PredictionKind.VPrediction => modelOutput * OutputScale + sample / SampleDivisor,
            PredictionKind.Sample => modelOutput,
            _ => sample - Sigma * modelOutput,
        };
    }

    /// <summary>Checks the step index and span lengths shared by both Step implementations.</summary>
    protected static void ValidateStep(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        Span<float> prevSample, Span<float> predOriginalSample) =>
        StepChecks.Validate(s, i, modelOutput, sample, prevSample, predOriginalSample);

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> when <paramref name="actual"/> ≠ <paramref name="expected"/> (the sample's length).</summary>
    protected static void RequireLength(int actual, int expected, string name) => StepChecks.RequireLength(actual, expected, name);

    /// <summary>σᵢ after checking that i is a step of the schedule.</summary>
    protected static float SigmaAt(Schedule s, int i)
    {
        StepChecks.RequireStep(s, i);
        return s.Sigmas[i];
    }

    /// <summary>sqrt(σ²+1) in float32 (PyTorch: (sigma**2 + 1) ** 0.5).</summary>
    private static float InputDivisor(float sigma) => MathF.Sqrt(sigma * sigma + 1f);

    private void ValidateSteps(int steps) => StepChecks.RequireSteps(steps, Math.Min(MaxSteps, Config.NumTrainTimesteps));
}

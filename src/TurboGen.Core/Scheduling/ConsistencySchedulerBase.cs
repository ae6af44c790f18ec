using System.Globalization;

namespace TurboGen.Scheduling;

/// <summary>How a consistency scheduler (LCM, TCD) turns an image-to-image strength into timesteps.</summary>
public enum ImageToImageRule
{
    /// <summary>
    /// The LCM pipelines' rule (diffusers <c>set_timesteps(n, strength)</c>): shorten the origin schedule to its last
    /// <c>int(original_inference_steps·strength)</c> entries and pick all n steps from it (4 steps at 0.5 → 499, 379, 259, 139).
    /// Runs every requested step; TurboGen's default.
    /// </summary>
    ShortenOrigin,

    /// <summary>
    /// The standard SD/SDXL img2img pipelines' rule with an LCM-LoRA (<c>get_timesteps</c>): take the full n-step
    /// schedule and keep its last <c>int(n·strength)</c> steps (4 steps at 0.5 → 499, 259).
    /// </summary>
    SliceSchedule,
}

/// <summary>
/// What diffusers' <c>LCMScheduler</c> and <c>TCDScheduler</c> share (diffusers 0.26.3 / 0.27.0, float32 as PyTorch computes it).
/// <para>How it works: the model was distilled on an "origin" schedule of <c>original_inference_steps</c> (50) timesteps
/// <c>k·i − 1</c>, i = 1..50, k = num_train_timesteps div 50 (19, 39, …, 999). An N-step schedule takes the entries at
/// indices <c>floor(j·50/N)</c> of the reversed origin schedule (the "skipping-step" schedule: 4 steps → 999, 759, 499, 259).
/// Timesteps are integers. The latent is the DDPM variable x = sqrt(ᾱ)·x0 + sqrt(1 − ᾱ)·ε: the start latent is plain N(0,1)
/// (init_noise_sigma 1), the UNet input is the latent itself (no scaling), and image-to-image noises the encoded image to
/// the first timestep with ᾱ. Each step predicts x0 and re-noises it to the next timestep with fresh noise (LCM) or
/// partly deterministically (TCD's gamma); see the subclasses.</para>
/// <para><see cref="Schedule.Sigmas"/> holds the training sigmas sqrt((1 − ᾱₜ)/ᾱₜ) of the timesteps and a final 0, for
/// display; the maths uses ᾱ (<see cref="NoiseTable.AlphasCumprod"/>).</para>
/// Instances are immutable and thread-safe; all state lives in the <see cref="Schedule"/> values they return.
/// </summary>
public abstract class ConsistencySchedulerBase : IScheduler
{
    /// <summary>The most steps a request may ask for (also at most original_inference_steps).</summary>
    public const int MaxSteps = 50;

    /// <exception cref="TurboGenException">A config option whose maths is not implemented, or original_inference_steps above num_train_timesteps.</exception>
    protected ConsistencySchedulerBase(SchedulerConfig config, ImageToImageRule imageToImage)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        ImageToImage = imageToImage;
        Prediction = config.PredictionType switch
        {
            "epsilon" => PredictionKind.Epsilon,
            "sample" => PredictionKind.Sample,
            "v_prediction" => PredictionKind.VPrediction,
            _ => throw new TurboGenException(
                $"Unsupported prediction_type \"{config.PredictionType}\" for {config.ClassName}; supported: epsilon, sample, v_prediction."),
        };
        if (config.ClipSample) throw new TurboGenException($"Unsupported scheduler option clip_sample = true for {config.ClassName}.");
        if (config.Thresholding) throw new TurboGenException($"Unsupported scheduler option thresholding = true for {config.ClassName}.");
        if (config.RescaleBetasZeroSnr) throw new TurboGenException("Unsupported scheduler option rescale_betas_zero_snr = true.");
        if (config.OriginalInferenceSteps > config.NumTrainTimesteps)
        {
            throw new TurboGenException(
                $"Scheduler config: original_inference_steps ({config.OriginalInferenceSteps}) exceeds num_train_timesteps ({config.NumTrainTimesteps}).");
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

    /// <summary>The image-to-image strength rule of <see cref="SetTimestepsForStrength"/>.</summary>
    public ImageToImageRule ImageToImage { get; }

    /// <summary>The training noise tables (betas, ᾱ, training sigmas).</summary>
    public NoiseTable Table { get; }

    /// <summary>What the UNet predicts (prediction_type).</summary>
    protected PredictionKind Prediction { get; }

    /// <summary>prediction_type: noise, the clean sample, or v.</summary>
    protected enum PredictionKind
    {
        /// <summary>"epsilon": the UNet predicts the added noise ε.</summary>
        Epsilon,

        /// <summary>"sample": the UNet predicts the clean latent x0.</summary>
        Sample,

        /// <summary>"v_prediction": the UNet predicts v = sqrt(ᾱ)·ε − sqrt(1−ᾱ)·x0.</summary>
        VPrediction,
    }

    /// <summary>The N-step skipping-step schedule (4 steps → 999, 759, 499, 259 for the LCM-Dreamshaper config).</summary>
    /// <exception cref="InvalidRequestException">"steps" outside 1..min(50, original_inference_steps).</exception>
    public Schedule SetTimesteps(int steps)
    {
        ValidateSteps(steps);
        return Pick(OriginTimesteps(1.0), steps, beginIndex: 0);
    }

    /// <summary>
    /// The image-to-image schedule per <see cref="ImageToImage"/>. <see cref="ImageToImageRule.ShortenOrigin"/>: the
    /// origin schedule keeps <c>int(original_inference_steps·strength)</c> entries (steps·strength evaluated on the
    /// strength's shortest decimal form, as Python sees 0.7) and all <paramref name="steps"/> are picked from it;
    /// <see cref="Schedule.BeginIndex"/> is 0. <see cref="ImageToImageRule.SliceSchedule"/>: the last
    /// <c>min(int(steps·strength), steps)</c> steps of the full schedule, BeginIndex = the skipped count.
    /// <para>TurboGen's deliberate exception to SliceSchedule: where diffusers' pipeline would be left with no step
    /// (int(steps·strength) &lt; 1, an error there) TurboGen runs one step from the first timestep of the shortened
    /// origin schedule (steps 1, strength 0.5 → 499, as <see cref="ImageToImageRule.ShortenOrigin"/> would);
    /// BeginIndex is then <paramref name="steps"/>.</para>
    /// </summary>
    /// <exception cref="InvalidRequestException">"steps" out of range, "strength" outside (0, 1] or too small to leave
    /// <paramref name="steps"/> timesteps in the shortened origin schedule (diffusers raises there too).</exception>
    public Schedule SetTimestepsForStrength(int steps, float strength)
    {
        ValidateSteps(steps);
        double strengthDecimal = StepChecks.StrengthDecimal(strength);
        if (ImageToImage == ImageToImageRule.ShortenOrigin)
        {
            return Pick(ShortenedOrigin(strengthDecimal, steps, strength), steps, beginIndex: 0);
        }
        Schedule full = SetTimesteps(steps);
        int kept = Math.Min((int)(steps * strengthDecimal), steps);
        if (kept < 1)
        {
            return Pick(ShortenedOrigin(strengthDecimal, 1, strength), 1, beginIndex: steps);
        }
        int start = steps - kept;
        return new Schedule(full.Timesteps.Skip(start).ToArray(), full.Sigmas.Skip(start).ToArray(), full.InitNoiseSigma, start);
    }

    /// <summary>1: the UNet sees the latent unscaled.</summary>
    public float ScaleFactor(Schedule s, int i)
    {
        StepChecks.RequireStep(s, i);
        return 1f;
    }

    /// <summary>destination = sample (diffusers' scale_model_input is the identity here).</summary>
    public void ScaleModelInput(Schedule s, int i, ReadOnlySpan<float> sample, Span<float> destination)
    {
        StepChecks.RequireStep(s, i);
        StepChecks.RequireLength(destination.Length, sample.Length, nameof(destination));
        sample.CopyTo(destination);
    }

    /// <inheritdoc/>
    public abstract void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample);

    /// <summary>destination = sqrt(ᾱ_t₀)·original + sqrt(1 − ᾱ_t₀)·noise, t₀ = the schedule's first timestep (diffusers add_noise).</summary>
    public void AddNoise(Schedule s, ReadOnlySpan<float> original, ReadOnlySpan<float> noise, Span<float> destination)
    {
        StepChecks.RequireStep(s, 0);
        StepChecks.RequireLength(noise.Length, original.Length, nameof(noise));
        StepChecks.RequireLength(destination.Length, original.Length, nameof(destination));
        float alphaBar = AlphaBar(s.Timesteps[0]);
        float signal = MathF.Sqrt(alphaBar), noiseScale = MathF.Sqrt(1f - alphaBar);
        for (int j = 0; j < original.Length; j++)
        {
            destination[j] = signal * original[j] + noiseScale * noise[j];
        }
    }

    /// <summary>ᾱ at an integer timestep of a schedule.</summary>
    protected float AlphaBar(float timestep) => Table.AlphasCumprod[(int)timestep];

    /// <summary>
    /// Per-step constants of the x0 prediction at ᾱ_t (float32 like diffusers: sqrt(ᾱ), sqrt(1 − ᾱ)).
    /// </summary>
    protected readonly record struct Predictor(PredictionKind Kind, float SqrtAlpha, float SqrtBeta)
    {
        /// <summary>The constants at cumulative alpha ᾱ: sqrt(ᾱ) and sqrt(1 − ᾱ), in float32.</summary>
        /// <param name="kind">The config's prediction_type.</param>
        /// <param name="alphaBar">ᾱ at the step's timestep.</param>
        public Predictor(PredictionKind kind, float alphaBar) : this(kind, MathF.Sqrt(alphaBar), MathF.Sqrt(1f - alphaBar)) { }

        /// <summary>epsilon: (x − sqrt(1−ᾱ)·ε)/sqrt(ᾱ); sample: the output; v: sqrt(ᾱ)·x − sqrt(1−ᾱ)·v.</summary>
        public float Original(float sample, float modelOutput) => Kind switch
        {
            PredictionKind.Sample => modelOutput,
            PredictionKind.VPrediction => SqrtAlpha * sample - SqrtBeta * modelOutput,
            _ => (sample - SqrtBeta * modelOutput) / SqrtAlpha,
        };
    }

    /// <summary>
    /// The origin schedule for a strength: <c>k·i − 1</c> for i = 1..int(original_inference_steps·strength), highest first.
    /// </summary>
    private float[] OriginTimesteps(double strength)
    {
        int original = Config.OriginalInferenceSteps;
        int k = Config.NumTrainTimesteps / original;
        int count = (int)(original * strength);
        var origin = new float[count];
        for (int i = 0; i < count; i++)
        {
            origin[i] = (count - i) * k - 1;
        }
        return origin;
    }

    private float[] ShortenedOrigin(double strengthDecimal, int steps, float strength)
    {
        float[] origin = OriginTimesteps(strengthDecimal);
        if (origin.Length < steps)
        {
            double minimum = (double)steps / Config.OriginalInferenceSteps;
            throw new InvalidRequestException("strength",
                $"strength {strength.ToString(CultureInfo.InvariantCulture)} leaves {origin.Length} of the {Config.OriginalInferenceSteps} " +
                $"distillation timesteps, fewer than the {steps} step(s) asked for: use a strength of at least {minimum.ToString(CultureInfo.InvariantCulture)} or fewer steps.");
        }
        return origin;
    }

    /// <summary>origin[floor(linspace(0, len, steps, endpoint=False))] (numpy: i·(len/steps) in double), sigmas and a final 0.</summary>
    private Schedule Pick(float[] origin, int steps, int beginIndex)
    {
        var timesteps = new float[steps];
        var sigmas = new float[steps + 1];
        double stride = (double)origin.Length / steps;
        for (int i = 0; i < steps; i++)
        {
            timesteps[i] = origin[(int)Math.Floor(i * stride)];
            sigmas[i] = Table.Sigmas[(int)timesteps[i]];
        }
        return new Schedule(timesteps, sigmas, InitNoiseSigma: 1f, beginIndex);
    }

    private void ValidateSteps(int steps) =>
        StepChecks.RequireSteps(steps, Math.Min(MaxSteps, Config.OriginalInferenceSteps));
}

using System.Globalization;

namespace TurboGen.Scheduling;

/// <summary>
/// diffusers' <c>TCDScheduler</c> (Trajectory Consistency Distillation, TCD-LoRA; diffusers ≥ 0.27.0) with its
/// stochasticity <see cref="Gamma"/> (diffusers' step argument <c>eta</c>, the paper's γ; default 0.3). Each step
/// predicts x0 and ε, moves them to the intermediate timestep <c>s = floor((1 − γ)·t_next)</c>
/// (<c>x_s = sqrt(ᾱ_s)·x0 + sqrt(1 − ᾱ_s)·ε</c>) and, except at the last step, noises that forward to t_next:
/// <c>prev = sqrt(ᾱ_next/ᾱ_s)·x_s + sqrt(1 − ᾱ_next/ᾱ_s)·noise</c>. The last step's t_next is 0, so it returns x_s at
/// s = 0. γ = 0 is deterministic (a DDIM-like step; no noise is drawn); γ = 1 re-noises the x0 prediction like LCM.
/// Schedule and image-to-image rules: <see cref="ConsistencySchedulerBase"/>.
/// </summary>
public sealed class TcdScheduler : ConsistencySchedulerBase
{
    /// <summary>The scheduler config's <c>_class_name</c> this class implements: "TCDScheduler".</summary>
    public const string ClassName = "TCDScheduler";

    /// <summary>The TCD pipelines' default gamma (eta).</summary>
    public const double DefaultGamma = 0.3;

    /// <exception cref="TurboGenException">An unsupported config option, or gamma outside [0, 1].</exception>
    public TcdScheduler(SchedulerConfig config, double gamma = DefaultGamma, ImageToImageRule imageToImage = ImageToImageRule.ShortenOrigin)
        : base(config, imageToImage)
    {
        if (!(gamma >= 0 && gamma <= 1))
        {
            throw new TurboGenException($"TCD gamma must be in [0, 1], got {gamma.ToString(CultureInfo.InvariantCulture)}.");
        }
        Gamma = gamma;
    }

    /// <summary>γ (diffusers' eta): 0 deterministic, 1 fully stochastic.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    public override string Name => ClassName;

    /// <inheritdoc/>
    public override string SamplerName => "TCD";

    /// <summary>True when γ &gt; 0: every step but the last adds fresh noise.</summary>
    public override bool IsAncestral => Gamma > 0;

    /// <summary>The intermediate timestep floor((1 − γ)·t_next), computed in float32 as PyTorch does.</summary>
    public int IntermediateTimestep(float nextTimestep) => (int)MathF.Floor((float)(1.0 - Gamma) * nextTimestep);

    /// <summary>
    /// x0 and ε from the model output (prediction_type; x0 goes to <paramref name="predOriginalSample"/>), x_s at
    /// s = floor((1 − γ)·t_next) and prev as in the class summary.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="noise"/> is not the sample's length while γ &gt; 0 before the last step, or another span is not.</exception>
    public override void Step(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise, Span<float> prevSample, Span<float> predOriginalSample)
    {
        StepChecks.Validate(s, i, modelOutput, sample, prevSample, predOriginalSample);
        bool addNoise = Gamma > 0 && i != s.StepCount - 1;
        if (addNoise) StepChecks.RequireLength(noise.Length, sample.Length, nameof(noise));
        float t = s.Timesteps[i];
        float next = i + 1 < s.StepCount ? s.Timesteps[i + 1] : 0f;
        float alphaT = AlphaBar(t);
        var predictor = new Predictor(Prediction, alphaT);
        float alphaS = AlphaBar(IntermediateTimestep(next));
        float sqrtAlphaS = MathF.Sqrt(alphaS), sqrtBetaS = MathF.Sqrt(1f - alphaS);
        float ratio = AlphaBar(next) / alphaS;
        float forward = MathF.Sqrt(ratio), noiseScale = MathF.Sqrt(1f - ratio);
        bool writeOriginal = !predOriginalSample.IsEmpty;
        for (int j = 0; j < sample.Length; j++)
        {
            float x = sample[j], output = modelOutput[j];
            float x0 = predictor.Original(x, output);
            float eps = Prediction switch
            {
                PredictionKind.Sample => (x - predictor.SqrtAlpha * x0) / predictor.SqrtBeta,
                PredictionKind.VPrediction => predictor.SqrtAlpha * output + predictor.SqrtBeta * x,
                _ => output,
            };
            float noised = sqrtAlphaS * x0 + sqrtBetaS * eps;
            if (writeOriginal) predOriginalSample[j] = x0;
            prevSample[j] = addNoise ? forward * noised + noiseScale * noise[j] : noised;
        }
    }
}

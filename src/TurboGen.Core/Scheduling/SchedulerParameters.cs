namespace TurboGen.Scheduling;

/// <summary>
/// Values set on top of a scheduler override (<see cref="Schedulers.ReadConfig(string, string?, SchedulerParameters?)"/>), for
/// models made for other values than the override's class defaults: DMD2's 4-step LCM schedule (999, 749, 499, 249 =
/// original_inference_steps 4) and Hyper-SD's 1-step LoRA with TCD gamma (eta) 1. Null fields keep what the config has.
/// They apply only with an override: a model whose own scheduler config fits it keeps that config.
/// </summary>
public sealed record SchedulerParameters
{
    /// <summary>LCM/TCD <c>original_inference_steps</c>: the origin schedule the few steps are picked from.</summary>
    public int? OriginalInferenceSteps { get; init; }

    /// <summary>TCD gamma (diffusers' step argument <c>eta</c>), in [0, 1].</summary>
    public double? Gamma { get; init; }

    /// <summary><paramref name="config"/> with these values set.</summary>
    /// <exception cref="InvalidRequestException">"scheduler": a value the config's class does not take.</exception>
    public SchedulerConfig ApplyTo(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (OriginalInferenceSteps is not null && !SchedulerConfig.HasStableDiffusionDefaults(config.ClassName))
            throw new InvalidRequestException("scheduler", $"original_inference_steps applies to LCMScheduler and TCDScheduler, not {config.ClassName}.");
        if (Gamma is not null && config.ClassName != TcdScheduler.ClassName)
            throw new InvalidRequestException("scheduler", $"gamma applies to TCDScheduler, not {config.ClassName}.");
        return config with
        {
            OriginalInferenceSteps = OriginalInferenceSteps ?? config.OriginalInferenceSteps,
            Gamma = Gamma ?? config.Gamma,
        };
    }
}

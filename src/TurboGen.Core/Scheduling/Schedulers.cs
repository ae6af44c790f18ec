namespace TurboGen.Scheduling;

/// <summary>
/// Creates the scheduler a model's scheduler_config.json names, or the one a <c>--scheduler</c> override asks for
/// (see <see cref="EulerSchedulerBase"/> and <see cref="ConsistencySchedulerBase"/> for how they work).
/// </summary>
public static class Schedulers
{
    /// <summary>The <c>_class_name</c> values <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Supported { get; } =
        [EulerAncestralDiscreteScheduler.ClassName, EulerDiscreteScheduler.ClassName, LcmScheduler.ClassName, TcdScheduler.ClassName];

    /// <summary>
    /// The override names <see cref="ApplyOverride"/> understands, for models whose own scheduler config is wrong for
    /// them (a base model with an LCM-, TCD-, Hyper-SD- or Lightning-LoRA merged in).
    /// </summary>
    public static IReadOnlyList<string> OverrideNames { get; } = ["euler-a", "euler", "euler-sample", "lcm", "tcd"];

    /// <summary>The scheduler for <paramref name="config"/> (LCM and TCD with the <see cref="ImageToImageRule.ShortenOrigin"/> rule, TCD with the config's gamma, 0.3 by default).</summary>
    /// <exception cref="TurboGenException">Unknown <c>_class_name</c> (the message lists the supported ones) or an unsupported option.</exception>
    public static IScheduler Create(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            return CreateScheduler(config);
        }
        catch (TurboGenException e) when (config.Source is { } source && e is not (ModelLoadException or InvalidRequestException) && !e.Message.Contains(source, StringComparison.Ordinal))
        {
            // The schedulers decide which combinations they support; the error names the file the combination came from.
            throw new ModelLoadException(source, $"Scheduler config {source}: {e.Message}", e);
        }
    }

    private static IScheduler CreateScheduler(SchedulerConfig config)
    {
        return config.ClassName switch
        {
            EulerAncestralDiscreteScheduler.ClassName => new EulerAncestralDiscreteScheduler(config),
            EulerDiscreteScheduler.ClassName => new EulerDiscreteScheduler(config),
            LcmScheduler.ClassName => new LcmScheduler(config),
            TcdScheduler.ClassName => new TcdScheduler(config, config.Gamma),
            _ => throw new TurboGenException(
                $"Unsupported scheduler \"{config.ClassName}\"; supported: {string.Join(", ", Supported)}."),
        };
    }

    /// <summary>
    /// Reads a model's scheduler_config.json, replaced by the scheduler <paramref name="overrideName"/> names when it is
    /// not null or empty, as the LoRA recipes do with diffusers' <c>from_config</c> (betas and the other values of the
    /// file are kept, missing keys take the new class's defaults):
    /// <list type="bullet">
    /// <item>"lcm" / "LCMScheduler": LCM (LCM-LoRA);</item>
    /// <item>"tcd" / "TCDScheduler": TCD with gamma 0.3 (TCD-LoRA, Hyper-SD);</item>
    /// <item>"euler" / "EulerDiscreteScheduler" and "euler-a" / "EulerAncestralDiscreteScheduler": Euler with
    /// timestep_spacing "trailing" (SDXL-Lightning 2/4/8-step, turbo merges);</item>
    /// <item>"euler-sample": Euler, "trailing", prediction_type "sample" (SDXL-Lightning 1-step).</item>
    /// </list>
    /// <paramref name="parameters"/> (a preset's: DMD2's original_inference_steps, Hyper-SD 1-step's gamma) are set on top of the
    /// override; they need one.
    /// </summary>
    /// <exception cref="InvalidRequestException">"scheduler": an unknown name (the message lists the known ones).</exception>
    /// <exception cref="ModelLoadException">The file is missing or not a valid scheduler config.</exception>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> without an override.</exception>
    public static SchedulerConfig ReadConfig(string path, string? overrideName, SchedulerParameters? parameters = null)
    {
        if (string.IsNullOrWhiteSpace(overrideName))
        {
            if (parameters is not null) throw new ArgumentException("Scheduler parameters apply on top of a scheduler override; none was given.", nameof(parameters));
            return SchedulerConfig.FromFile(path);
        }
        var (className, adjust) = ResolveOverride(overrideName);
        var config = adjust(SchedulerConfig.FromFile(path, className));
        return parameters is null ? config : parameters.ApplyTo(config);
    }

    /// <summary><see cref="ReadConfig"/> on scheduler_config.json text (<paramref name="sourcePath"/> is named in errors).</summary>
    public static SchedulerConfig ApplyOverride(string json, string overrideName, string? sourcePath = null, SchedulerParameters? parameters = null)
    {
        var (className, adjust) = ResolveOverride(overrideName);
        var config = adjust(SchedulerConfig.FromJson(json, className, sourcePath));
        return parameters is null ? config : parameters.ApplyTo(config);
    }

    /// <summary>The canonical override name for <paramref name="name"/> (a short name or a diffusers class name, any case).</summary>
    /// <exception cref="InvalidRequestException">"scheduler": an unknown name.</exception>
    public static string CanonicalOverrideName(string name) => name.Trim().ToLowerInvariant() switch
    {
        "euler-a" or "euler_a" or "eulerancestraldiscretescheduler" => "euler-a",
        "euler" or "eulerdiscretescheduler" => "euler",
        "euler-sample" or "euler_sample" => "euler-sample",
        "lcm" or "lcmscheduler" => "lcm",
        "tcd" or "tcdscheduler" => "tcd",
        _ => throw new InvalidRequestException("scheduler",
            $"Unknown scheduler \"{name}\"; known: {string.Join(", ", OverrideNames)} (or a diffusers class name: {string.Join(", ", Supported)})."),
    };

    private static (string ClassName, Func<SchedulerConfig, SchedulerConfig> Adjust) ResolveOverride(string name) =>
        CanonicalOverrideName(name) switch
        {
            "euler-a" => (EulerAncestralDiscreteScheduler.ClassName, c => c with { TimestepSpacing = TimestepSpacing.Trailing }),
            "euler" => (EulerDiscreteScheduler.ClassName, c => c with { TimestepSpacing = TimestepSpacing.Trailing }),
            "euler-sample" => (EulerDiscreteScheduler.ClassName, c => c with { TimestepSpacing = TimestepSpacing.Trailing, PredictionType = "sample" }),
            "lcm" => (LcmScheduler.ClassName, c => c),
            _ => (TcdScheduler.ClassName, c => c),
        };
}

namespace TurboGen.Scheduling;

/// <summary>Creates the scheduler a model's scheduler_config.json names (see <see cref="EulerSchedulerBase"/> for how they work).</summary>
public static class Schedulers
{
    /// <summary>The <c>_class_name</c> values <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Supported { get; } =
        [EulerAncestralDiscreteScheduler.ClassName, EulerDiscreteScheduler.ClassName];

    /// <summary>The scheduler for <paramref name="config"/>.</summary>
    /// <exception cref="TurboGenException">Unknown <c>_class_name</c> (the message lists the supported ones) or an unsupported option.</exception>
    public static IScheduler Create(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ClassName switch
        {
            EulerAncestralDiscreteScheduler.ClassName => new EulerAncestralDiscreteScheduler(config),
            EulerDiscreteScheduler.ClassName => new EulerDiscreteScheduler(config),
            _ => throw new TurboGenException(
                $"Unsupported scheduler \"{config.ClassName}\"; supported: {string.Join(", ", Supported)}."),
        };
    }
}

namespace TurboGen.Scheduling;

/// <summary>
/// Which training timesteps an N-step schedule visits, exactly as diffusers' Euler schedulers compute them with numpy
/// (highest timestep first). Results are float32 like diffusers' <c>timesteps</c> tensor.
/// </summary>
public static class TimestepSpacing
{
    /// <summary>"trailing": steps end at the last training timestep (T − 1); the turbo models' spacing. See <see cref="ComputeTrailing"/>.</summary>
    public const string Trailing = "trailing";

    /// <summary>"leading": multiples of T div N plus steps_offset. See <see cref="ComputeLeading"/>.</summary>
    public const string Leading = "leading";

    /// <summary>"linspace": N evenly spaced, possibly fractional, timesteps from T − 1 to 0. See <see cref="ComputeLinspace"/>.</summary>
    public const string Linspace = "linspace";

    /// <summary>The spacings <see cref="Compute"/> understands.</summary>
    public static IReadOnlyList<string> Supported { get; } = [Trailing, Leading, Linspace];

    /// <summary>Timesteps for <paramref name="steps"/> steps of a model trained with <paramref name="trainTimesteps"/> steps.</summary>
    public static float[] Compute(string spacing, int steps, int trainTimesteps, int stepsOffset) => spacing switch
    {
        Trailing => ComputeTrailing(steps, trainTimesteps),
        Leading => ComputeLeading(steps, trainTimesteps, stepsOffset),
        Linspace => ComputeLinspace(steps, trainTimesteps),
        _ => throw new TurboGenException(
            $"Unsupported timestep_spacing \"{spacing}\"; supported: {string.Join(", ", Supported)}."),
    };

    /// <summary>
    /// "trailing": <c>round(arange(T, 0, −T/N)) − 1</c>, e.g. T=1000, N=4 → 999, 749, 499, 249. numpy's arange fills
    /// <c>start + i·δ</c> with <c>δ = (start − T/N) − start</c> (which decides cases like 937.4999… for N=48), and
    /// rounds halves to even (N=16: 937.5 → 938, 812.5 → 812).
    /// </summary>
    public static float[] ComputeTrailing(int steps, int trainTimesteps)
    {
        double start = trainTimesteps;
        double stepRatio = (double)trainTimesteps / steps;
        int length = (int)Math.Ceiling((0 - start) / -stepRatio);
        double delta = (start + -stepRatio) - start;
        var timesteps = new float[length];
        for (int i = 0; i < length; i++)
        {
            double value = i == 1 ? start + -stepRatio : start + i * delta;
            timesteps[i] = (float)Math.Round(value, MidpointRounding.ToEven) - 1f;
        }
        return timesteps;
    }

    /// <summary>"leading": <c>arange(N)·(T div N)</c> reversed, plus steps_offset, e.g. T=1000, N=4, offset 1 → 751, 501, 251, 1.</summary>
    public static float[] ComputeLeading(int steps, int trainTimesteps, int stepsOffset)
    {
        int stepRatio = trainTimesteps / steps;
        var timesteps = new float[steps];
        for (int i = 0; i < steps; i++)
        {
            timesteps[i] = (float)((steps - 1 - i) * stepRatio) + stepsOffset;
        }
        return timesteps;
    }

    /// <summary>"linspace": <c>linspace(0, T − 1, N)</c> reversed (fractional timesteps, interpolated sigmas).</summary>
    public static float[] ComputeLinspace(int steps, int trainTimesteps)
    {
        double stop = trainTimesteps - 1;
        var timesteps = new float[steps];
        double step = steps > 1 ? stop / (steps - 1) : 0;
        for (int i = 0; i < steps; i++)
        {
            double value = i == steps - 1 && steps > 1 ? stop : i * step;
            timesteps[steps - 1 - i] = (float)value;
        }
        return timesteps;
    }
}

using System.Globalization;

namespace TurboGen.Scheduling;

/// <summary>Argument checks and request parsing shared by every scheduler.</summary>
internal static class StepChecks
{
    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> unless the lengths agree.</summary>
    public static void RequireLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has {actual} elements, expected {expected} (the sample's length).", name);
        }
    }

    /// <summary>Checks that <paramref name="i"/> is a step of <paramref name="s"/>.</summary>
    public static void RequireStep(Schedule s, int i)
    {
        ArgumentNullException.ThrowIfNull(s);
        if ((uint)i >= (uint)s.StepCount)
        {
            throw new ArgumentOutOfRangeException(nameof(i), i, $"step index must be in 0..{s.StepCount - 1}");
        }
    }

    /// <summary>Checks the step index and the lengths of the spans every Step takes.</summary>
    public static void Validate(Schedule s, int i, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample,
        Span<float> prevSample, Span<float> predOriginalSample)
    {
        RequireStep(s, i);
        RequireLength(modelOutput.Length, sample.Length, nameof(modelOutput));
        RequireLength(prevSample.Length, sample.Length, nameof(prevSample));
        if (!predOriginalSample.IsEmpty)
        {
            RequireLength(predOriginalSample.Length, sample.Length, nameof(predOriginalSample));
        }
    }

    /// <summary>Throws "steps" unless 1 ≤ <paramref name="steps"/> ≤ <paramref name="max"/>.</summary>
    public static void RequireSteps(int steps, int max)
    {
        if (steps < 1 || steps > max)
        {
            throw new InvalidRequestException("steps", $"steps must be in 1..{max}, got {steps}.");
        }
    }

    /// <summary>
    /// The strength as the double of its shortest decimal form (0.7f → 0.7, so int(10·0.7) = 7 as in Python), after
    /// checking that it lies in (0, 1].
    /// </summary>
    public static double StrengthDecimal(float strength)
    {
        if (!(strength > 0f && strength <= 1f))
        {
            throw new InvalidRequestException("strength",
                $"strength must be in (0, 1], got {strength.ToString(CultureInfo.InvariantCulture)}.");
        }
        return double.Parse(strength.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}

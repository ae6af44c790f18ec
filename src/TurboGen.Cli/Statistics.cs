namespace TurboGen.Cli;

/// <summary>Median and spread of a set of timings (percentiles by linear interpolation between order statistics, as numpy's default).</summary>
internal sealed record Summary(double Median, double Mean, double Min, double Max, double P10, double P90)
{
    public static Summary Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("No values to summarise.", nameof(values));
        }
        var sorted = values.Order().ToArray();
        return new Summary(Percentile(sorted, 50), sorted.Average(), sorted[0], sorted[^1], Percentile(sorted, 10), Percentile(sorted, 90));
    }

    /// <summary>The p-th percentile (0–100) of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        double rank = p / 100 * (sorted.Count - 1);
        int lower = (int)Math.Floor(rank);
        int upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
    }
}

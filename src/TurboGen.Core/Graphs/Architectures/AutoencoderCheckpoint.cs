using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures;

/// <summary>
/// Key checks shared by the two autoencoder builders: before building, every tensor the architecture needs must exist
/// with the expected shape (all problems listed in one <see cref="ModelLoadException"/>); after building, every
/// checkpoint key of the built part must have been read (nothing silently ignored).
/// </summary>
internal static class AutoencoderCheckpoint
{
    private const int MaxListed = 25;

    /// <summary>Throws if any of <paramref name="expected"/> is missing from <paramref name="weights"/> or has another shape.</summary>
    public static void RequireTensors(ICheckpointTensors weights, IReadOnlyDictionary<string, long[]> expected, string what)
    {
        var missing = new List<string>();
        var wrongShape = new List<string>();
        foreach (var (name, shape) in expected)
        {
            if (!weights.Contains(name))
            {
                missing.Add(name);
                continue;
            }
            long[] actual = weights.Shape(name);
            if (!actual.SequenceEqual(shape))
            {
                wrongShape.Add($"{name} is [{string.Join(",", actual)}], expected [{string.Join(",", shape)}]");
            }
        }
        if (missing.Count == 0 && wrongShape.Count == 0)
        {
            return;
        }
        var message = new System.Text.StringBuilder($"Checkpoint {weights.Source} does not match the {what} config.");
        if (missing.Count > 0)
        {
            message.Append($" Missing {missing.Count} tensor(s): {Listed(missing)}.");
        }
        if (wrongShape.Count > 0)
        {
            message.Append($" Wrong shape ({wrongShape.Count}): {Listed(wrongShape)}.");
        }
        throw new ModelLoadException(weights.Source, message.ToString());
    }

    /// <summary>
    /// Throws if the checkpoint has keys that the build did not read, other than keys for which <paramref name="belongsToOtherPart"/>
    /// is true (e.g. the encoder's keys when only the decoder was built).
    /// </summary>
    public static void RequireAllUsed(ICheckpointTensors weights, Func<string, bool> belongsToOtherPart, string what)
    {
        var used = weights.Used;
        var unused = weights.Names.Where(n => !used.Contains(n) && !belongsToOtherPart(n)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            throw new ModelLoadException(weights.Source,
                $"Checkpoint {weights.Source} has {unused.Count} tensor(s) that the {what} does not use (wrong architecture or config?): {Listed(unused)}.");
        }
    }

    private static string Listed(List<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", … ({items.Count - MaxListed} more)" : "");
}

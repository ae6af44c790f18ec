using TurboGen.Weights;

namespace TurboGen.Graphs;

/// <summary>
/// The checkpoint tensors (name → shape, in module order) an architecture reads for its config, declared by each block
/// next to the code that uses them (<c>Declare(layout, prefix, …)</c>), and the one check of a checkpoint against them shared
/// by every architecture: before building, every declared tensor must exist with its shape (all problems listed in one
/// <see cref="ModelLoadException"/> naming the tensors and the file, <see cref="Nn.Checked"/>); while building, every tensor a
/// layer reads must be declared (<see cref="Nn.Declared"/>); after building, every checkpoint key the build should have
/// read was read (<see cref="RequireAllUsed"/>), so nothing is silently ignored.
/// </summary>
public sealed class TensorLayout
{
    private readonly List<(string Name, long[] Shape)> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The declared tensors in declaration (module) order.</summary>
    public IReadOnlyList<(string Name, long[] Shape)> Tensors => _tensors;

    /// <summary>Declares one tensor.</summary>
    public void Add(string name, params long[] shape)
    {
        _tensors.Add((name, shape));
        _names.Add(name);
    }

    /// <summary>Whether tensor <paramref name="name"/> is declared.</summary>
    public bool Declares(string name) => _names.Contains(name);

    /// <summary>nn.Linear: <c>weight</c> [out, in] and (optionally) <c>bias</c> [out].</summary>
    public void Linear(string prefix, long inFeatures, long outFeatures, bool bias = true)
    {
        Add(prefix + ".weight", outFeatures, inFeatures);
        if (bias) Add(prefix + ".bias", outFeatures);
    }

    /// <summary>nn.Conv2d with a square kernel: <c>weight</c> [out, in, k, k] and (optionally) <c>bias</c> [out].</summary>
    public void Conv2d(string prefix, long inChannels, long outChannels, long kernel, bool bias = true)
    {
        Add(prefix + ".weight", outChannels, inChannels, kernel, kernel);
        if (bias) Add(prefix + ".bias", outChannels);
    }

    /// <summary>nn.GroupNorm / nn.LayerNorm: <c>weight</c> and <c>bias</c> [channels].</summary>
    public void Norm(string prefix, long channels)
    {
        Add(prefix + ".weight", channels);
        Add(prefix + ".bias", channels);
    }

    /// <summary>The declared tensors as a name → shape map (insertion order kept).</summary>
    public IReadOnlyDictionary<string, long[]> ToDictionary()
    {
        var map = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (name, shape) in _tensors) map[name] = shape;
        return map;
    }

    /// <summary>
    /// Throws if any declared tensor is missing from <paramref name="weights"/> or has another shape; <paramref name="what"/>
    /// names the model in the message (e.g. "UNet", "AutoencoderKL decoder").
    /// </summary>
    public void Require(ICheckpointTensors weights, string what)
    {
        var found = Compare(weights, unusedIgnored: null);
        if (found.IsEmpty)
        {
            return;
        }
        throw new ModelLoadException(weights.Source, $"Checkpoint {weights.Source} does not match the {what} config. {found}");
    }

    /// <summary>
    /// Compares the checkpoint with the declared tensors without throwing: missing tensors, wrong shapes (a tensor whose shape
    /// cannot be read counts as one), and, when <paramref name="unusedIgnored"/> is given, checkpoint keys that are not
    /// declared and not ignored by it. Used by <see cref="Require"/> and by checks that report several components at once.
    /// </summary>
    public LayoutMismatch Compare(ICheckpointTensors weights, Func<string, bool>? unusedIgnored)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var missing = new List<string>();
        var wrongShape = new List<string>();
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape) in _tensors)
        {
            declared.Add(name);
            if (!weights.Contains(name))
            {
                missing.Add(name);
                continue;
            }
            long[] actual;
            try
            {
                actual = weights.Shape(name);
            }
            catch (ModelLoadException e)
            {
                wrongShape.Add($"{name}: {e.Message}");
                continue;
            }
            if (!actual.SequenceEqual(shape))
            {
                wrongShape.Add($"{name} is [{string.Join(",", actual)}], expected [{string.Join(",", shape)}]");
            }
        }
        var unused = unusedIgnored is null
            ? []
            : weights.Names.Where(n => !declared.Contains(n) && !unusedIgnored(n)).Order(StringComparer.Ordinal).ToList();
        return new LayoutMismatch(missing, wrongShape, unused);
    }

    /// <summary>
    /// Throws if the checkpoint has keys that the build did not read, other than keys for which <paramref name="ignore"/>
    /// is true (e.g. the encoder's keys when only the decoder was built, or another network's keys under another prefix).
    /// </summary>
    public static void RequireAllUsed(ICheckpointTensors weights, Func<string, bool> ignore, string what)
    {
        var used = new HashSet<string>(weights.Used, StringComparer.Ordinal);
        var unused = weights.Names.Where(n => !used.Contains(n) && !ignore(n)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            throw new ModelLoadException(weights.Source,
                $"Checkpoint {weights.Source} has {unused.Count} tensor(s) that the {what} does not use (wrong architecture or config?): {LayoutMismatch.Listed(unused)}.");
        }
    }

}

/// <summary>What <see cref="TensorLayout.Compare"/> found; <see cref="ToString"/> is the one wording of every checkpoint check.</summary>
public sealed record LayoutMismatch(IReadOnlyList<string> Missing, IReadOnlyList<string> WrongShape, IReadOnlyList<string> Unused)
{
    private const int MaxListed = 25;

    /// <summary>Nothing missing, mis-shaped or unused.</summary>
    public bool IsEmpty => Missing.Count == 0 && WrongShape.Count == 0 && Unused.Count == 0;

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new List<string>();
        if (Missing.Count > 0) parts.Add($"Missing {Missing.Count} tensor(s): {Listed(Missing)}.");
        if (WrongShape.Count > 0) parts.Add($"Wrong shape ({WrongShape.Count}): {Listed(WrongShape)}.");
        if (Unused.Count > 0) parts.Add($"Not used by the architecture ({Unused.Count}; wrong config or another model's weights?): {Listed(Unused)}.");
        return string.Join(" ", parts);
    }

    internal static string Listed(IReadOnlyList<string> items) =>
        string.Join(", ", items.Take(MaxListed)) + (items.Count > MaxListed ? $", … ({items.Count - MaxListed} more)" : "");
}

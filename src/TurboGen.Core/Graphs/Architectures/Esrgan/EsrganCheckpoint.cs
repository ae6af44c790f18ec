using TurboGen.Weights;

namespace TurboGen.Graphs.Architectures.Esrgan;

/// <summary>
/// Opens an ESRGAN-family checkpoint as the flat Real-ESRGAN key names <see cref="RrdbNet"/> reads. A <c>.pth</c> converted to
/// safetensors keeps Real-ESRGAN's wrapper dictionaries as key prefixes (<c>params_ema.conv_first.weight</c>,
/// <c>params.…</c>); the EMA weights are the ones Real-ESRGAN infers with, so <c>params_ema.</c> wins when both are
/// present. A <c>module.</c> prefix (saved from DataParallel) is dropped too. Other keys are kept, so they are reported as
/// unused when the graph is built.
/// </summary>
public static class EsrganCheckpoint
{
    private static readonly string[] Wrappers = ["params_ema.", "params.", "module."];

    /// <summary>The wrapper prefix the checkpoint's RRDBNet keys carry ("" when they are at the top level).</summary>
    public static string WrapperPrefix(ICheckpointTensors weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Contains("conv_first.weight")) return "";
        foreach (string prefix in Wrappers)
        {
            if (weights.Contains(prefix + "conv_first.weight")) return prefix;
        }
        return "";
    }

    /// <summary>
    /// <paramref name="weights"/> itself when its keys are top-level, else a renaming view that offers the wrapped RRDBNet keys
    /// without the prefix (keys under another wrapper, e.g. <c>params.</c> next to <c>params_ema.</c>, are left out: they are the
    /// training copy of the same network).
    /// </summary>
    public static ICheckpointTensors Unwrap(ICheckpointTensors weights)
    {
        string prefix = WrapperPrefix(weights);
        if (prefix.Length == 0) return weights;
        var mappings = new List<TensorMapping>();
        foreach (string name in weights.Names)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                mappings.Add(new TensorMapping(name[prefix.Length..], name));
            }
            else if (!Wrappers.Any(w => name.StartsWith(w, StringComparison.Ordinal)))
            {
                mappings.Add(new TensorMapping(name, name));
            }
        }
        return new RenamedCheckpoint(weights, mappings, $"{weights.Source} ({prefix.TrimEnd('.')})");
    }
}

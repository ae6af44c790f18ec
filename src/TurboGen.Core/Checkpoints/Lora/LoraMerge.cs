using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TurboGen.Checkpoints.Lora;

/// <summary>
/// Applies LoRA files to a model's checkpoints at load time (see <see cref="LoraMergedCheckpoint"/> for the merge itself),
/// reports the LoRA keys that matched nothing, and fingerprints the set of LoRAs and scales for the built-model cache.
/// </summary>
public static class LoraMerge
{
    /// <summary>
    /// Identifies a list of LoRAs with their scales: SHA-256 (hex) over each file's content hash and scale, in order
    /// (the order is part of the identity: float sums are not associative). "" for an empty list, so a model without
    /// LoRAs keeps its cache key.
    /// </summary>
    public static string Fingerprint(IEnumerable<(LoraAdapter Adapter, float Scale)> loras)
    {
        var text = new StringBuilder();
        foreach (var (adapter, scale) in loras)
        {
            text.Append(adapter.ContentHash).Append(':').Append(scale.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        return text.Length == 0 ? "" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// Collects what the LoRAs of <paramref name="merged"/> (the merged checkpoints of one model, one per network) did:
    /// the modules applied, and every key that matched nothing — unsupported naming or LoRA variant, a module the network
    /// lacks, a wrong shape, or a network the model does not have (e.g. <c>lora_te2_</c> keys on SD-Turbo).
    /// </summary>
    /// <param name="merged">The merged checkpoints of one model, one per network (UNet, text encoders).</param>
    /// <param name="strict">Throw instead of returning a report with unmatched keys.</param>
    /// <exception cref="ModelLoadException"><paramref name="strict"/> and some key matched nothing (the message lists them; Path is the first such file).</exception>
    public static LoraMergeReport Report(IEnumerable<LoraMergedCheckpoint> merged, bool strict = false)
    {
        var checkpoints = merged.ToList();
        var adapters = checkpoints.SelectMany(m => m.Loras.Select(l => l.Adapter)).Distinct(ReferenceEqualityComparer.Instance).Cast<LoraAdapter>().ToList();
        var components = checkpoints.Select(m => m.Component).ToHashSet(StringComparer.Ordinal);

        var unmatched = new List<LoraKeyIssue>();
        foreach (var adapter in adapters)
        {
            unmatched.AddRange(adapter.UnrecognizedKeys);
            foreach (var module in adapter.Modules)
            {
                bool covered = checkpoints.Any(m => m.Component == module.Component && m.Loras.Any(l => ReferenceEquals(l.Adapter, adapter)));
                if (!covered)
                {
                    unmatched.Add(new LoraKeyIssue(adapter.Path, module.DownKey, components.Contains(module.Component)
                        ? $"{module.Component} was merged without this LoRA file"
                        : $"the model has no {module.Component}"));
                }
            }
        }
        unmatched.AddRange(checkpoints.SelectMany(m => m.Problems));

        var report = new LoraMergeReport(checkpoints.SelectMany(m => m.Applied).ToList(), unmatched);
        if (strict && report.HasWarnings)
        {
            throw new ModelLoadException(unmatched[0].File, report.Warning());
        }
        // A LoRA file none of whose modules fits is for another model: an error, not a build that silently ignores it.
        foreach (var adapter in adapters)
        {
            if (!report.Applied.Any(a => a.File == adapter.Path) && unmatched.Any(u => u.File == adapter.Path))
            {
                var issues = new LoraMergeReport([], unmatched.Where(u => u.File == adapter.Path).ToList());
                throw new ModelLoadException(adapter.Path,
                    $"The LoRA {adapter.Path} fits nothing in this model (made for another model?): {issues.Warning()}");
            }
        }
        return report;
    }

    /// <summary>
    /// <paramref name="components"/> with every network wrapped in a <see cref="LoraMergedCheckpoint"/> for
    /// <paramref name="loras"/>, and a <see cref="CheckpointComponents.ContentHash"/> that also covers the LoRAs and scales.
    /// The result shares <see cref="CheckpointComponents.Owned"/> with <paramref name="components"/>: dispose only one of them.
    /// The adapters stay owned by the caller and must live until the model is written.
    /// </summary>
    /// <exception cref="ModelLoadException"><paramref name="strict"/> and some LoRA key matched nothing.</exception>
    public static (CheckpointComponents Components, LoraMergeReport Report) Apply(
        CheckpointComponents components, IReadOnlyList<(LoraAdapter Adapter, float Scale)> loras, bool strict = false)
    {
        if (loras.Count == 0) return (components, LoraMergeReport.Empty);

        var unet = new LoraMergedCheckpoint(components.Unet, loras, LoraComponent.Unet, unetConfigJson: components.UnetConfigJson);
        var textEncoder = new LoraMergedCheckpoint(components.TextEncoder, loras, LoraComponent.TextEncoder);
        var textEncoder2 = components.TextEncoder2 is null ? null : new LoraMergedCheckpoint(components.TextEncoder2, loras, LoraComponent.TextEncoder2);
        var report = Report(textEncoder2 is null ? [unet, textEncoder] : [unet, textEncoder, textEncoder2], strict);

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{components.ContentHash}\nlora:{Fingerprint(loras)}")));
        var merged = components with
        {
            Unet = unet,
            TextEncoder = textEncoder,
            TextEncoder2 = textEncoder2,
            ContentHash = hash,
            Source = $"{components.Source} + LoRA {string.Join(", ", loras.Select(l => $"{l.Adapter}×{l.Scale.ToString(CultureInfo.InvariantCulture)}"))}",
        };
        return (merged, report);
    }
}

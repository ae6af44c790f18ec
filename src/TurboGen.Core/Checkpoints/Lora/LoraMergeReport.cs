namespace TurboGen.Checkpoints.Lora;

/// <summary>A key (or module) of a LoRA file that was not applied, and why.</summary>
/// <param name="File">The LoRA file's path.</param>
/// <param name="Key">The tensor name in the file (for a module, its down tensor).</param>
/// <param name="Reason">Why it was not applied (e.g. unsupported naming or LoRA variant, no such module, wrong shape).</param>
public sealed record LoraKeyIssue(string File, string Key, string Reason)
{
    /// <summary>"file.safetensors: key: reason" (the file name without its folder).</summary>
    public override string ToString() => $"{System.IO.Path.GetFileName(File)}: {Key}: {Reason}";
}

/// <summary>One LoRA module merged into one base checkpoint weight.</summary>
public sealed record LoraApplication(string File, string Component, string BaseKey, LoraModule Module, float Scale);

/// <summary>
/// What a set of LoRA files did to a model: every module merged into a base weight, and every key that matched
/// nothing (unknown naming, unsupported LoRA variant, module missing from the model, wrong shape).
/// </summary>
public sealed record LoraMergeReport(IReadOnlyList<LoraApplication> Applied, IReadOnlyList<LoraKeyIssue> Unmatched)
{
    /// <summary>No module applied, no key unmatched (a model built without LoRAs).</summary>
    public static readonly LoraMergeReport Empty = new([], []);

    /// <summary>True when some key matched nothing (<see cref="Unmatched"/> is not empty); <see cref="Warning"/> then describes them.</summary>
    public bool HasWarnings => Unmatched.Count > 0;

    /// <summary>A one-paragraph warning listing the unmatched keys (at most <paramref name="max"/>), or "" when none.</summary>
    public string Warning(int max = 20)
    {
        if (Unmatched.Count == 0) return "";
        var shown = Unmatched.Take(max).Select(u => u.ToString());
        string more = Unmatched.Count > max ? $"; … ({Unmatched.Count - max} more)" : "";
        return $"{Unmatched.Count} LoRA key(s) matched no model weight and were ignored ({Applied.Count} module(s) applied): {string.Join("; ", shown)}{more}.";
    }
}

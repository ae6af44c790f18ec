using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using TurboGen.Weights;

namespace TurboGen.Checkpoints.Lora;

/// <summary>
/// A LoRA file (safetensors), parsed into its adapted modules (<see cref="LoraModule"/>: target network, module name,
/// down/up tensors and alpha) plus the keys it could not use. The file stays memory-mapped; the low-rank matrices are read
/// only when a merged weight is written (<see cref="LoraMergedCheckpoint"/>). Malformed files (bad safetensors, a down
/// tensor without its up tensor, mismatched ranks, non-scalar alpha, non-float tensors) fail with a
/// <see cref="ModelLoadException"/> naming the file.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>diffusers' safetensors metadata entry holding the PEFT LoraConfig per component (<c>"unet.lora_alpha"</c>, <c>"unet.alpha_pattern"</c>, …) as JSON.</summary>
    public const string AdapterMetadataKey = "lora_adapter_metadata";

    private readonly SafetensorsFile _file;
    private string? _contentHash;

    private LoraAdapter(SafetensorsFile file, List<LoraModule> modules, List<LoraKeyIssue> unrecognized)
    {
        _file = file;
        Modules = modules;
        UnrecognizedKeys = unrecognized;
    }

    /// <summary>The LoRA .safetensors file as opened.</summary>
    public string Path => _file.Path;

    /// <summary>The adapted modules, in file order of their down tensors.</summary>
    public IReadOnlyList<LoraModule> Modules { get; }

    /// <summary>Keys whose naming or LoRA variant is not supported (never applied; listed by <see cref="LoraMerge.Report"/>).</summary>
    public IReadOnlyList<LoraKeyIssue> UnrecognizedKeys { get; }

    /// <summary>SHA-256 of the file's bytes (lowercase hex), computed once on first use.</summary>
    public string ContentHash
    {
        get
        {
            if (_contentHash is null)
            {
                using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                _contentHash = Convert.ToHexStringLower(SHA256.HashData(stream));
            }
            return _contentHash;
        }
    }

    /// <summary>Opens and validates a LoRA file.</summary>
    /// <exception cref="ModelLoadException">The file is missing, is not valid safetensors, holds no LoRA tensors, or its LoRA tensors are inconsistent.</exception>
    public static LoraAdapter Open(string path)
    {
        var file = SafetensorsFile.Open(path);
        try
        {
            var (modules, unrecognized) = Parse(file);
            return new LoraAdapter(file, modules, unrecognized);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The down (A) matrix of <paramref name="module"/> as float32, shape <see cref="LoraModule.DownShape"/>.</summary>
    public float[] ReadDown(LoraModule module) => _file.ReadFloat32(module.DownKey);

    /// <summary>The up (B) matrix of <paramref name="module"/> as float32, shape <see cref="LoraModule.UpShape"/>.</summary>
    public float[] ReadUp(LoraModule module) => _file.ReadFloat32(module.UpKey);

    /// <summary>Unmaps the file; <see cref="ReadDown"/> and <see cref="ReadUp"/> must not be called afterwards.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>The file name without its folder (as LoRA reports and error messages show it).</summary>
    public override string ToString() => System.IO.Path.GetFileName(Path);

    private sealed class Parts
    {
        public string? Down, Up, Alpha;
    }

    private static (List<LoraModule>, List<LoraKeyIssue>) Parse(SafetensorsFile file)
    {
        string path = file.Path;
        var unrecognized = new List<LoraKeyIssue>();
        var groups = new Dictionary<LoraKeyGroup, Parts>();
        var order = new List<LoraKeyGroup>();
        foreach (var info in file.Tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.Name, StringComparer.Ordinal))
        {
            if (!LoraKeyNaming.TryParse(info.Name, out var key, out string reason))
            {
                unrecognized.Add(new LoraKeyIssue(path, info.Name, reason));
                continue;
            }
            if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F64))
            {
                throw Corrupt(path, $"tensor '{info.Name}' is {info.DType}, not a floating-point tensor");
            }
            var group = new LoraKeyGroup(key.Component, key.Module, key.Naming);
            if (!groups.TryGetValue(group, out var parts))
            {
                groups[group] = parts = new Parts();
                order.Add(group);
            }
            ref string? slot = ref parts.Down;
            if (key.Role == LoraTensorRole.Up) slot = ref parts.Up;
            else if (key.Role == LoraTensorRole.Alpha) slot = ref parts.Alpha;
            if (slot is not null)
            {
                throw Corrupt(path, $"tensors '{slot}' and '{info.Name}' are both the {key.Role.ToString().ToLowerInvariant()} tensor of module '{key.Module}'");
            }
            slot = info.Name;
        }

        var metadata = AdapterMetadata.Parse(file);
        var modules = new List<LoraModule>();
        foreach (var group in order)
        {
            var parts = groups[group];
            if (parts.Down is null && parts.Up is null)
            {
                unrecognized.Add(new LoraKeyIssue(path, parts.Alpha!, "alpha without lora down/up tensors"));
                continue;
            }
            if (parts.Down is null || parts.Up is null)
            {
                throw Corrupt(path, $"module '{group.Module}' has '{parts.Down ?? parts.Up}' but no matching {(parts.Down is null ? "down" : "up")} tensor");
            }
            long[] down = file.Info(parts.Down).Shape, up = file.Info(parts.Up).Shape;
            CheckShapes(path, parts.Down, down, parts.Up, up);
            float alpha = parts.Alpha is not null
                ? ReadAlpha(file, parts.Alpha)
                : metadata.Alpha(group.Component, group.Module) ?? down[0];
            modules.Add(new LoraModule(group.Component, group.Module, group.Naming, parts.Down, down, parts.Up, up, parts.Alpha, alpha));
        }
        if (modules.Count == 0)
        {
            string first = unrecognized.Count > 0 ? $" (first key '{unrecognized[0].Key}': {unrecognized[0].Reason})" : "";
            throw new ModelLoadException(path, $"LoRA file {path} holds no usable LoRA tensors among its {file.Tensors.Count} tensor(s){first}.");
        }
        return (modules, unrecognized);
    }

    private readonly record struct LoraKeyGroup(string Component, string Module, LoraNaming Naming);

    /// <summary>down [r, in(, kh, kw)] and up [out, r(, 1, 1)] with the same rank r ≥ 1.</summary>
    private static void CheckShapes(string path, string downKey, long[] down, string upKey, long[] up)
    {
        if (down.Length < 2 || up.Length < 2 || up.Skip(2).Any(d => d != 1))
        {
            throw Corrupt(path, $"'{downKey}' is [{string.Join(",", down)}] and '{upKey}' is [{string.Join(",", up)}]; expected down [rank, in(, kh, kw)] and up [out, rank(, 1, 1)]");
        }
        if (down[0] < 1 || up[1] != down[0])
        {
            throw Corrupt(path, $"rank mismatch: '{downKey}' is [{string.Join(",", down)}] but '{upKey}' is [{string.Join(",", up)}]");
        }
    }

    private static float ReadAlpha(SafetensorsFile file, string key)
    {
        var info = file.Info(key);
        if (info.ElementCount != 1)
        {
            throw Corrupt(file.Path, $"alpha tensor '{key}' has shape [{string.Join(",", info.Shape)}], expected a scalar");
        }
        float alpha = file.ReadFloat32(key)[0];
        if (!float.IsFinite(alpha))
        {
            throw Corrupt(file.Path, $"alpha tensor '{key}' is {alpha.ToString(CultureInfo.InvariantCulture)}");
        }
        return alpha;
    }

    private static ModelLoadException Corrupt(string path, string what) => new(path, $"Invalid LoRA file {path}: {what}.");

    /// <summary>
    /// The alphas of diffusers' <c>lora_adapter_metadata</c>: per component <c>"&lt;component&gt;.lora_alpha"</c> and
    /// <c>"&lt;component&gt;.alpha_pattern"</c> (module name or dotted suffix → alpha; matched literally, not as a regex).
    /// </summary>
    private sealed class AdapterMetadata
    {
        private readonly Dictionary<string, float> _alpha = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<(string Pattern, float Alpha)>> _patterns = new(StringComparer.Ordinal);

        public static AdapterMetadata Parse(SafetensorsFile file)
        {
            var result = new AdapterMetadata();
            if (!file.Metadata.TryGetValue(AdapterMetadataKey, out string? json)) return result;
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not a JSON object");
                foreach (string component in LoraComponent.All)
                {
                    if (doc.RootElement.TryGetProperty(component + ".lora_alpha", out var a) && a.ValueKind == JsonValueKind.Number)
                    {
                        result._alpha[component] = a.GetSingle();
                    }
                    if (doc.RootElement.TryGetProperty(component + ".alpha_pattern", out var p) && p.ValueKind == JsonValueKind.Object)
                    {
                        result._patterns[component] = p.EnumerateObject()
                            .Where(e => e.Value.ValueKind == JsonValueKind.Number)
                            .Select(e => (e.Name, e.Value.GetSingle()))
                            .ToList();
                    }
                }
            }
            catch (JsonException e)
            {
                throw new ModelLoadException(file.Path, $"Invalid LoRA file {file.Path}: metadata '{AdapterMetadataKey}' is not valid JSON ({e.Message}).", e);
            }
            return result;
        }

        public float? Alpha(string component, string module)
        {
            if (_patterns.TryGetValue(component, out var patterns))
            {
                foreach (var (pattern, alpha) in patterns)
                {
                    if (module == pattern || module.EndsWith("." + pattern, StringComparison.Ordinal)) return alpha;
                }
            }
            return _alpha.TryGetValue(component, out float a) ? a : null;
        }
    }
}

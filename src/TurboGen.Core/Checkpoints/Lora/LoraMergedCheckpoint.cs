using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TurboGen.Weights;

namespace TurboGen.Checkpoints.Lora;

/// <summary>
/// A checkpoint with LoRA files merged into its weights: for every adapted layer W' = W + Σ scale · (alpha / rank) · up · down
/// (Linear [out, in]; Conv [out, in, kh, kw] with down [rank, in, kh, kw] and up [out, rank, 1, 1]), so the graph built from it
/// has the same shape and speed as the base model.
/// <para>
/// How it works: the constructor resolves each LoRA module of <see cref="Component"/> to a base key — kohya names by looking
/// the underscored module up among the base keys with dots replaced by underscores, diffusers/PEFT names directly, UNet names
/// in the original (LDM/sgm) layout through the single-file layout of the UNet config (<see cref="OriginalUnetModules"/>) — and
/// checks shapes from the file headers; modules that resolve to nothing are kept in <see cref="Problems"/>. Reading an
/// adapted weight (<see cref="Float32"/>, <see cref="Float32Transposed"/>) returns a lazy <see cref="WeightData"/>: only when the
/// model is written is the base matrix materialised, the low-rank product added to it row by row, and the result streamed
/// out — one matrix at a time, so memory stays bounded. All other keys, <see cref="Names"/> and <see cref="Used"/> pass through.
/// </para>
/// </summary>
public sealed class LoraMergedCheckpoint : ICheckpointTensors
{
    private readonly ICheckpointTensors _inner;
    private readonly Dictionary<string, List<(LoraApplication Application, LoraAdapter Adapter)>> _targets = new(StringComparer.Ordinal);
    private readonly List<LoraApplication> _applied = [];
    private readonly List<LoraKeyIssue> _problems = [];

    /// <param name="inner">The base checkpoint of one network.</param>
    /// <param name="loras">LoRA files with their strengths (usually 0…1; negative values subtract).</param>
    /// <param name="component">Which network <paramref name="inner"/> is (<see cref="LoraComponent"/>): only modules for it are merged.</param>
    /// <param name="keyPrefix">Prefix of every base key (e.g. <c>conditioner.embedders.0.transformer.</c> when the base is an un-renamed single file).</param>
    /// <param name="unetConfigJson">The UNet's diffusers config: how modules named in the original (LDM/sgm) layout
    /// (<see cref="LoraNaming.Original"/>) map to the base keys. Without it such modules resolve only against base keys that are themselves in that layout.</param>
    public LoraMergedCheckpoint(ICheckpointTensors inner, IEnumerable<(LoraAdapter Adapter, float Scale)> loras, string component, string keyPrefix = "",
        string? unetConfigJson = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(loras);
        if (!LoraComponent.All.Contains(component))
        {
            throw new ArgumentException($"Unknown LoRA component '{component}' (expected {string.Join(", ", LoraComponent.All)}).", nameof(component));
        }
        _inner = inner;
        Component = component;
        Loras = loras.ToList();
        foreach (var (adapter, scale) in Loras)
        {
            if (!float.IsFinite(scale))
            {
                throw new InvalidRequestException("lora_scale", $"LoRA scale for {adapter} must be a finite number, not {scale.ToString(CultureInfo.InvariantCulture)}.");
            }
        }
        Source = Loras.Count == 0
            ? inner.Source
            : $"{inner.Source} + LoRA {string.Join(", ", Loras.Select(l => $"{l.Adapter}×{l.Scale.ToString(CultureInfo.InvariantCulture)}"))}";
        Resolve(keyPrefix, unetConfigJson);
    }

    /// <summary>The network this checkpoint is (<see cref="LoraComponent"/>).</summary>
    public string Component { get; }

    /// <summary>The LoRA files merged into this network with their scales, in the order given.</summary>
    public IReadOnlyList<(LoraAdapter Adapter, float Scale)> Loras { get; }

    /// <summary>Every LoRA module merged into a base weight of this network.</summary>
    public IReadOnlyList<LoraApplication> Applied => _applied;

    /// <summary>LoRA modules for this network that matched no base weight (unknown module, ambiguous name, wrong shape).</summary>
    public IReadOnlyList<LoraKeyIssue> Problems => _problems;

    /// <summary>Base keys whose weight is changed by at least one LoRA.</summary>
    public IReadOnlyCollection<string> AdaptedKeys => _targets.Keys;

    /// <summary>The base checkpoint's description plus the LoRAs and scales (e.g. "… + LoRA style.safetensors×0.8").</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public IEnumerable<string> Names => _inner.Names;

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Used => _inner.Used;

    /// <inheritdoc/>
    public bool Contains(string name) => _inner.Contains(name);

    /// <inheritdoc/>
    public long[] Shape(string name) => _inner.Shape(name);

    /// <summary>The base tensor as float32, with every LoRA delta scale · (alpha / rank) · up · down added when the weight is adapted.</summary>
    public WeightData Float32(string name)
    {
        if (!_targets.TryGetValue(name, out var loras)) return _inner.Float32(name);
        var baseWeight = _inner.Float32(name);   // records the key as used; the bytes come later
        return WeightData.FromWriter(baseWeight.ByteLength, s =>
        {
            var merged = Merge(baseWeight, loras);
            s.Write(merged);
        });
    }

    /// <summary>As <see cref="Float32"/>, transposed from [out, in] to [in, out] (a linear layer's weight for ONNX MatMul).</summary>
    public WeightData Float32Transposed(string name)
    {
        if (!_targets.TryGetValue(name, out var loras)) return _inner.Float32Transposed(name);
        long[] shape = _inner.Shape(name);
        if (shape.Length != 2)
        {
            throw new ModelLoadException(Source, $"Tensor '{name}' in {Source} has shape [{string.Join(",", shape)}], expected 2-D for a linear layer.");
        }
        var baseWeight = _inner.Float32(name);
        long rows = shape[0], cols = shape[1];
        return WeightData.FromWriter(baseWeight.ByteLength, s =>
        {
            var merged = MemoryMarshal.Cast<byte, float>(Merge(baseWeight, loras));
            var column = new float[rows];
            for (long c = 0; c < cols; c++)
            {
                for (long r = 0; r < rows; r++)
                {
                    column[r] = merged[(int)(r * cols + c)];
                }
                s.Write(MemoryMarshal.AsBytes(column.AsSpan()));
            }
        });
    }

    /// <summary>As <see cref="Float32"/>, materialised as an array.</summary>
    public float[] ReadFloat32(string name)
    {
        if (!_targets.TryGetValue(name, out var loras)) return _inner.ReadFloat32(name);
        return MemoryMarshal.Cast<byte, float>(Merge(_inner.Float32(name), loras)).ToArray();
    }

    /// <summary>The base weight's float32 bytes with every LoRA delta added in place.</summary>
    private static byte[] Merge(WeightData baseWeight, List<(LoraApplication Application, LoraAdapter Adapter)> loras)
    {
        byte[] weight = baseWeight.ToArray();
        foreach (var (lora, adapter) in loras)
        {
            float factor = lora.Scale * lora.Module.AlphaOverRank;
            if (factor == 0f) continue;   // W + 0 · Δ is W: skip reading the LoRA matrices
            AddLowRankProduct(weight, adapter.ReadUp(lora.Module), adapter.ReadDown(lora.Module), lora.Module.Rank, factor);
        }
        return weight;
    }

    /// <summary>
    /// weight[o, :] += factor · Σ_r up[o, r] · down[r, :], with <paramref name="weight"/> the float32 bytes of [out, n],
    /// up [out, rank] and down [rank, n]. Large products are split into blocks of output rows run in parallel.
    /// </summary>
    internal static void AddLowRankProduct(byte[] weight, float[] up, float[] down, int rank, float factor)
    {
        int outFeatures = up.Length / rank;
        int n = down.Length / rank;
        long work = (long)outFeatures * n * rank;
        int blocks = work < ParallelWorkThreshold ? 1 : Math.Min(outFeatures, 4 * Environment.ProcessorCount);
        Parallel.For(0, blocks, block =>
        {
            var rows = MemoryMarshal.Cast<byte, float>(weight.AsSpan());
            int first = (int)((long)outFeatures * block / blocks), end = (int)((long)outFeatures * (block + 1) / blocks);
            for (int o = first; o < end; o++)
            {
                var row = rows.Slice(o * n, n);
                for (int r = 0; r < rank; r++)
                {
                    TensorPrimitives.MultiplyAdd(down.AsSpan(r * n, n), factor * up[o * rank + r], row, row);
                }
            }
        });
    }

    private const long ParallelWorkThreshold = 1 << 22;

    private void Resolve(string keyPrefix, string? unetConfigJson)
    {
        var underscored = UnderscoredModules(keyPrefix);
        Dictionary<string, List<string>>? original = null;
        foreach (var (adapter, scale) in Loras)
        {
            var targetsOfThisFile = new HashSet<string>(StringComparer.Ordinal);
            foreach (var module in adapter.Modules.Where(m => m.Component == Component))
            {
                string? baseKey = module.Naming switch
                {
                    LoraNaming.Kohya => ResolveKohya(adapter, module, underscored),
                    LoraNaming.Original => ResolveOriginal(adapter, module, underscored, original ??= OriginalModules(unetConfigJson, keyPrefix)),
                    _ => ResolveDiffusers(adapter, module, keyPrefix),
                };
                if (baseKey is null) continue;
                if (!ShapesFit(_inner.Shape(baseKey), module, out string why))
                {
                    _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, $"does not fit {Component} weight '{baseKey}': {why}"));
                    continue;
                }
                if (!targetsOfThisFile.Add(baseKey))
                {
                    _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, $"a second LoRA module of the same file for {Component} weight '{baseKey}' (ignored)"));
                    continue;
                }
                var application = new LoraApplication(adapter.Path, Component, baseKey, module, scale);
                _applied.Add(application);
                if (!_targets.TryGetValue(baseKey, out var list)) _targets[baseKey] = list = [];
                list.Add((application, adapter));
            }
        }
    }

    /// <summary>Base module path with dots → underscores, mapped to the weight keys that produce it (normally one).</summary>
    private Dictionary<string, List<string>> UnderscoredModules(string keyPrefix)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string key in _inner.Names)
        {
            if (!key.StartsWith(keyPrefix, StringComparison.Ordinal) || !key.EndsWith(".weight", StringComparison.Ordinal)) continue;
            string module = key[keyPrefix.Length..^".weight".Length].Replace('.', '_');
            if (!map.TryGetValue(module, out var keys)) map[module] = keys = [];
            keys.Add(key);
        }
        return map;
    }

    private string? ResolveKohya(LoraAdapter adapter, LoraModule module, Dictionary<string, List<string>> underscored)
    {
        if (!underscored.TryGetValue(module.Module, out var keys))
        {
            _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, $"no {Component} weight is named like module '{module.Module}'"));
            return null;
        }
        if (keys.Count > 1)
        {
            _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, $"module '{module.Module}' is ambiguous in {Component}: {string.Join(", ", keys)}"));
            return null;
        }
        return keys[0];
    }

    /// <summary>The base keys an original-layout module name stands for, by the UNet config's single-file layout (empty without a config).</summary>
    private Dictionary<string, List<string>> OriginalModules(string? unetConfigJson, string keyPrefix)
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (unetConfigJson is null) return map;
        foreach (var (module, keys) in OriginalUnetModules.Map(unetConfigJson, keyPrefix))
        {
            var present = keys.Where(_inner.Contains).ToList();
            if (present.Count > 0) map[module] = present;
        }
        return map;
    }

    /// <summary>An original-layout module: through the config's layout, else directly (a base that is itself an un-renamed single file).</summary>
    private string? ResolveOriginal(LoraAdapter adapter, LoraModule module, Dictionary<string, List<string>> underscored, Dictionary<string, List<string>> original)
    {
        if (original.ContainsKey(module.Module)) return ResolveKohya(adapter, module, original);
        if (underscored.ContainsKey(module.Module)) return ResolveKohya(adapter, module, underscored);
        _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, original.Count == 0 && underscored.Count > 0
            ? $"UNet module '{module.Module}' is named in the original (LDM/sgm) layout (input_blocks/middle_block/output_blocks) and no layout of this {Component} is known to map it"
            : $"no {Component} weight is named like original (LDM/sgm) layout module '{module.Module}'"));
        return null;
    }

    private string? ResolveDiffusers(LoraAdapter adapter, LoraModule module, string keyPrefix)
    {
        string key = keyPrefix + module.Module + ".weight";
        if (_inner.Contains(key)) return key;
        _problems.Add(new LoraKeyIssue(adapter.Path, module.DownKey, $"no {Component} weight '{key}'"));
        return null;
    }

    /// <summary>up's out = weight's out, and down's [in, kh, kw] = weight's (trailing 1s ignored: a 1×1 conv LoRA fits a Linear).</summary>
    private static bool ShapesFit(long[] weight, LoraModule module, out string why)
    {
        static long[] Trim(IEnumerable<long> dims)
        {
            var list = dims.ToList();
            while (list.Count > 0 && list[^1] == 1) list.RemoveAt(list.Count - 1);
            return [.. list];
        }
        bool fits = weight.Length >= 2
            && module.UpShape[0] == weight[0]
            && Trim(module.DownShape.Skip(1)).SequenceEqual(Trim(weight.Skip(1)));
        why = fits ? "" : $"weight is [{string.Join(",", weight)}], LoRA down [{string.Join(",", module.DownShape)}] and up [{string.Join(",", module.UpShape)}]";
        return fits;
    }
}

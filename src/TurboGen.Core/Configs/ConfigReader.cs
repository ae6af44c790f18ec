using System.Text.Json;

namespace TurboGen.Configs;

/// <summary>
/// Reads the fields of one diffusers / transformers config (<c>config.json</c>, <c>scheduler_config.json</c>,
/// <c>model_index.json</c>) by one rule, for every config TurboGen reads:
/// <list type="bullet">
/// <item>a field that is absent or JSON <c>null</c> takes the caller's default (a config whose <c>null</c> means something else asks
/// <see cref="IsNull"/>);</item>
/// <item>a present field of another type is an error naming the field, the value and the file;</item>
/// <item>integers may be written as integral floats (<c>1000.0</c>, as Python writes some of them); numbers must be finite;</item>
/// <item>unknown fields are ignored; trailing commas and comments are accepted.</item>
/// </list>
/// Every error is a <see cref="ModelLoadException"/> whose <see cref="ModelLoadException.Path"/> is the config's source and whose
/// message starts with what the config is and where it came from ("UNet config x/unet/config.json: …").
/// </summary>
internal sealed class ConfigReader
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    private readonly JsonElement _root;

    private ConfigReader(JsonElement root, string kind, string source)
    {
        _root = root;
        Kind = kind;
        Source = source;
    }

    /// <summary>What the config is, capitalised ("UNet config", "Scheduler config").</summary>
    public string Kind { get; }

    /// <summary>Where the config came from (a path, or a description such as "unet config of model.safetensors").</summary>
    public string Source { get; }

    /// <summary>Parses config text; it must be a JSON object.</summary>
    /// <param name="json">The config text.</param>
    /// <param name="kind">What the config is, for messages ("UNet config").</param>
    /// <param name="source">Where it came from, for messages and <see cref="ModelLoadException.Path"/>.</param>
    public static ConfigReader Parse(string json, string kind, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json, JsonOptions);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(source, $"{kind} {source} is not valid JSON: {e.Message}", e);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelLoadException(source, $"{kind} {source} must be a JSON object, found {root.ValueKind}.");
        }
        return new ConfigReader(root, kind, source);
    }

    /// <summary>Reads and parses the config file at <paramref name="path"/> (a missing or unreadable file is an error naming it).</summary>
    public static ConfigReader Load(string path, string kind)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelLoadException(path, $"{kind} not found: {path}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException(path, $"Cannot read {kind} {path}: {e.Message}", e);
        }
        return Parse(json, kind, path);
    }

    /// <summary>An error about this config: "<see cref="Kind"/> <see cref="Source"/>: <paramref name="what"/>."</summary>
    public ModelLoadException Error(string what) => new(Source, $"{Kind} {Source}: {what}.");

    /// <summary>True when the field is present and not <c>null</c>.</summary>
    public bool Has(string name) => Field(name) is not null;

    /// <summary>True when the field is present with the value <c>null</c> (for configs where null means "none", e.g. <c>mid_block_type</c>).</summary>
    public bool IsNull(string name) => _root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Null;

    /// <summary>True when the field is a JSON array.</summary>
    public bool IsList(string name) => Field(name) is { ValueKind: JsonValueKind.Array };

    /// <summary>The field's JSON value when present and not <c>null</c>, for checks no typed accessor covers.</summary>
    public JsonElement? Field(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string String(string name, string fallback) => OptionalString(name) ?? fallback;

    public string? OptionalString(string name) => Field(name) is not { } v ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Wrong(name, "a string", v);

    public bool Bool(string name, bool fallback) => Field(name) is not { } v ? fallback : v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(name, "true or false", v),
    };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        Field(name) is { } v ? ToInt(name, v, min, max) : fallback;

    public int? OptionalInt(string name) => Field(name) is { } v ? ToInt(name, v, int.MinValue, int.MaxValue) : null;

    public long Long(string name, long fallback)
    {
        if (Field(name) is not { } v) return fallback;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l)) return l;
        return v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && d is >= long.MinValue and <= long.MaxValue
            ? (long)d
            : throw Wrong(name, "an integer", v);
    }

    public double Double(string name, double fallback) => OptionalDouble(name) ?? fallback;

    public double? OptionalDouble(string name) => Field(name) is { } v ? ToDouble(name, v) : null;

    /// <summary>A number as float32 (parsed directly to the nearest float32).</summary>
    public float Float(string name, float fallback) => OptionalFloat(name) ?? fallback;

    public float? OptionalFloat(string name)
    {
        if (Field(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetSingle(out float f) && float.IsFinite(f) ? f : throw Wrong(name, "a finite number", v);
    }

    public IReadOnlyList<int>? IntList(string name) => List(name, "a list of integers", (n, e) => ToInt(n, e, int.MinValue, int.MaxValue));

    public IReadOnlyList<double>? DoubleList(string name) => List(name, "a list of finite numbers", ToDouble);

    public IReadOnlyList<string>? StringList(string name) =>
        List(name, "a list of strings", (n, e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(n, "a list of strings", _root.GetProperty(n)));

    private List<T>? List<T>(string name, string expected, Func<string, JsonElement, T> item)
    {
        if (Field(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, expected, v);
        var list = new List<T>(v.GetArrayLength());
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.Null) throw Wrong(name, expected, v);
            list.Add(item(name, e));
        }
        return list;
    }

    private int ToInt(string name, JsonElement v, int min, int max)
    {
        string expected = min == int.MinValue && max == int.MaxValue ? "an integer" : $"an integer in [{min}, {max}]";
        // Python writes integral floats such as 1000.0 in some configs; they are accepted when exact.
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || d != Math.Floor(d) || d < min || d > max)
        {
            throw Wrong(name, expected, v);
        }
        return (int)d;
    }

    private double ToDouble(string name, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw Wrong(name, "a finite number", v);

    private ModelLoadException Wrong(string name, string expected, JsonElement value)
    {
        string raw = value.GetRawText();
        if (raw.Length > 60) raw = raw[..60] + "...";
        return Error($"\"{name}\" must be {expected}, got {raw}");
    }
}

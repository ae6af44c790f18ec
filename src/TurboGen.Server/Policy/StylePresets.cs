using System.Text.Json;

namespace TurboGen.Server.Policy;

/// <summary>
/// The style presets (prompt templates) shared by the real-time web app (<c>style</c>), the OpenAI-compatible API
/// (<c>style</c>), the AUTOMATIC1111 API (<c>styles</c>), the native API (<c>style</c>) and <c>turbogen generate --style</c>,
/// all applied by one rule (<see cref="StylePreset.Apply"/>). They live in one data file, <c>Policy/styles.json</c>,
/// embedded in the assembly; <see cref="Default"/> loads it once. Look-ups accept the id ("neon-punk") or the
/// display name ("Neon punk"), ignoring case, spaces, hyphens and underscores. "" / "none" means no style.
/// </summary>
public sealed class StylePresets
{
    private const string ResourceName = "TurboGen.Server.Policy.styles.json";
    private static readonly Lazy<StylePresets> Embedded = new(LoadEmbedded);
    private readonly Dictionary<string, StylePreset> _byKey;

    public StylePresets(IReadOnlyList<StylePreset> presets)
    {
        All = presets;
        _byKey = new Dictionary<string, StylePreset>(StringComparer.Ordinal);
        foreach (var preset in presets)
        {
            if (!preset.Prompt.Contains(StylePreset.Placeholder, StringComparison.Ordinal))
                throw new InvalidDataException($"Style '{preset.Id}' has no {StylePreset.Placeholder} placeholder.");
            _byKey.TryAdd(Key(preset.Id), preset);
            _byKey.TryAdd(Key(preset.Name), preset);
        }
    }

    /// <summary>The presets shipped with TurboGen.</summary>
    public static StylePresets Default => Embedded.Value;

    public IReadOnlyList<StylePreset> All { get; }

    /// <summary>True for null, "", "none": the prompt is used as typed.</summary>
    public static bool IsNone(string? style) => string.IsNullOrWhiteSpace(style) || Key(style) == "none";

    public bool TryFind(string? style, out StylePreset? preset)
    {
        preset = null;
        return style is not null && _byKey.TryGetValue(Key(style), out preset);
    }

    /// <summary>The preset named <paramref name="style"/>; an unknown name is an <see cref="InvalidRequestException"/> for "style".</summary>
    public StylePreset Find(string style, string field = "style") => TryFind(style, out var preset)
        ? preset!
        : throw new InvalidRequestException(field, $"Unknown style '{style}'. Known styles: {string.Join(", ", All.Select(p => p.Id))}.");

    /// <summary>The preset named <paramref name="style"/>, or null for none ("", "none"); unknown names throw (see <see cref="Find"/>).</summary>
    public StylePreset? FindOrNone(string? style, string field = "style") => IsNone(style) ? null : Find(style!, field);

    /// <summary>Applies <paramref name="style"/> (none → unchanged) to a prompt and negative prompt.</summary>
    public (string Prompt, string Negative) Apply(string? style, string prompt, string negative, string field = "style") =>
        FindOrNone(style, field) is { } preset ? preset.Apply(prompt, negative) : (prompt, negative);

    /// <summary>Parses a styles file: <c>{"styles":[{"id","name","prompt","negative"}, ...]}</c>.</summary>
    public static StylePresets Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var presets = new List<StylePreset>();
        foreach (var s in doc.RootElement.GetProperty("styles").EnumerateArray())
        {
            presets.Add(new StylePreset(
                s.GetProperty("id").GetString()!, s.GetProperty("name").GetString()!,
                s.GetProperty("prompt").GetString()!, s.TryGetProperty("negative", out var n) ? n.GetString() ?? "" : ""));
        }
        return new StylePresets(presets);
    }

    private static StylePresets LoadEmbedded()
    {
        using var stream = typeof(StylePresets).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    private static string Key(string name) =>
        new(name.Where(c => c is not (' ' or '-' or '_')).Select(char.ToLowerInvariant).ToArray());
}

namespace TurboGen.Server.Policy;

/// <summary>
/// The names the served model answers to, on every front end (OpenAI <c>model</c> and <c>/v1/models</c>, A1111
/// <c>sd_model_checkpoint</c>). The first is its id, reported in responses and metadata.
/// <list type="bullet">
/// <item><c>--served-model-name</c> given (<see cref="ServerOptions.ServedModelNames"/>): exactly those names, in order
/// (as vLLM's option of the same name).</item>
/// <item>Otherwise: the model's id (<see cref="ServerOptions.ModelId"/>, e.g. the Hub id <c>stabilityai/sdxl-turbo</c>),
/// the Hub id recognised from a Hugging Face cache path (<c>models--org--name/snapshots/…</c>), the short name of each
/// Hub id (<c>sdxl-turbo</c>), and the model folder's name.</item>
/// </list>
/// Names are compared trimmed and case-insensitively; an A1111 title's " [hash]" suffix is ignored.
/// </summary>
public static class ModelNames
{
    /// <summary>The served names for <paramref name="options"/>, the id first, without duplicates.</summary>
    public static IReadOnlyList<string> For(ServerOptions options)
    {
        var names = new List<string>();
        if (options.ServedModelNames is { Count: > 0 } served)
        {
            foreach (string name in served) Add(names, name);
            if (names.Count > 0) return names;
        }
        string folder = Path.GetFullPath(options.ModelPath);
        string? hubId = HubIdOf(folder);
        Add(names, options.ModelId);
        Add(names, hubId);
        Add(names, ShortName(options.ModelId));
        Add(names, ShortName(hubId));
        Add(names, new DirectoryInfo(folder).Name);
        return names;
    }

    /// <summary>True when <paramref name="name"/> is one of <paramref name="names"/>.</summary>
    public static bool Matches(string? name, IReadOnlyList<string> names)
    {
        if (string.IsNullOrWhiteSpace(name)) return false;
        string n = name.Trim();
        int bracket = n.LastIndexOf(" [", StringComparison.Ordinal);
        if (bracket > 0 && n.EndsWith(']')) n = n[..bracket].TrimEnd();
        return names.Any(x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>"org/name" → "name"; a name without a slash → null.</summary>
    public static string? ShortName(string? id) =>
        id is not null && id.LastIndexOf('/') is int slash and >= 0 && slash < id.Length - 1 ? id[(slash + 1)..] : null;

    /// <summary>The Hub id of a folder inside a Hugging Face cache snapshot (<c>…/models--org--name/snapshots/{commit}/…</c>), else null.</summary>
    public static string? HubIdOf(string folder)
    {
        for (var dir = new DirectoryInfo(folder); dir?.Parent is { } parent; dir = parent)
        {
            if (dir.Name == "snapshots" && parent.Name.StartsWith("models--", StringComparison.Ordinal))
            {
                return parent.Name["models--".Length..].Replace("--", "/", StringComparison.Ordinal); // huggingface_hub's cache folder name
            }
        }
        return null;
    }

    private static void Add(List<string> names, string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return;
        string n = name.Trim();
        if (!names.Any(x => string.Equals(x, n, StringComparison.OrdinalIgnoreCase))) names.Add(n);
    }
}

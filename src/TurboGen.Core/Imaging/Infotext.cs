using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TurboGen.Imaging;

/// <summary>
/// The AUTOMATIC1111 web UI "parameters" text (infotext), which other tools (Civitai, ComfyUI importers, PNG info
/// readers) understand:
/// <code>
/// &lt;prompt&gt;
/// Negative prompt: &lt;negative prompt&gt;            (line omitted when empty)
/// Steps: 1, Sampler: Euler a, CFG scale: 0, Seed: 42, Size: 512x512, Model: sdxl-turbo, Denoising strength: 0.5, &lt;extra&gt;
/// </code>
/// Keys follow A1111's order (Steps, Sampler, CFG scale, Seed, Size, Model, Denoising strength, then extras). A
/// value containing ',', ':' or a newline is written as a JSON string (non-ASCII kept), as A1111's
/// <c>quote()</c> does; the whole text is trimmed. Parsing follows A1111's <c>parse_generation_parameters</c>:
/// the last line is the parameter line only if at least three "Key: value" pairs match in it, lines up to
/// "Negative prompt:" form the prompt (each line trimmed), the rest the negative prompt.
/// </summary>
public static partial class Infotext
{
    private const string NegativePrefix = "Negative prompt:";

    private static readonly string[] StandardKeys = ["Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", "Denoising strength"];

    /// <summary>A1111's <c>re_param</c>: a key (word characters, spaces, '-', '/'), ':', then a JSON-quoted or comma-free value.</summary>
    [GeneratedRegex("""\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)""")]
    private static partial Regex ParamRegex();

    [GeneratedRegex("""^\w[\w \-/]+$""")]
    private static partial Regex KeyRegex();

    [GeneratedRegex("""^(\d+)x(\d+)$""")]
    private static partial Regex SizeRegex();

    /// <summary>Formats the fields as A1111 infotext. Extra keys must look like A1111 keys and not repeat a standard key.</summary>
    public static string Format(InfotextFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("Steps", fields.Steps.ToString(CultureInfo.InvariantCulture)),
            new("Sampler", fields.Sampler),
            new("CFG scale", FormatFloat(fields.CfgScale)),
            new("Seed", fields.Seed.ToString(CultureInfo.InvariantCulture)),
            new("Size", $"{fields.Width}x{fields.Height}"),
        };
        if (!string.IsNullOrEmpty(fields.Model))
        {
            parameters.Add(new("Model", fields.Model));
        }
        if (fields.DenoisingStrength is float strength)
        {
            parameters.Add(new("Denoising strength", FormatFloat(strength)));
        }
        foreach (var (key, value) in fields.Extra)
        {
            if (!KeyRegex().IsMatch(key) || StandardKeys.Contains(key))
            {
                throw new ArgumentException($"'{key}' cannot be an infotext key (word characters, spaces, '-' or '/', not a standard key).", nameof(fields));
            }
            parameters.Add(new(key, value));
        }

        string line = string.Join(", ", parameters.Select(p => $"{p.Key}: {Quote(p.Value)}"));
        string negative = string.IsNullOrEmpty(fields.NegativePrompt) ? "" : $"\n{NegativePrefix} {fields.NegativePrompt}";
        return $"{fields.Prompt}{negative}\n{line}".Trim();
    }

    /// <summary>
    /// Parses A1111 infotext. Steps, Sampler, CFG scale, Seed and Size are required (an
    /// <see cref="InvalidRequestException"/> for "parameters" names what is missing or malformed); Model defaults
    /// to "", Denoising strength to null; every other pair goes to <see cref="InfotextFields.Extra"/>.
    /// </summary>
    public static InfotextFields Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] lines = text.Trim().ReplaceLineEndings("\n").Split('\n');
        string lastLine = lines[^1];
        var promptLines = lines[..^1].ToList();
        MatchCollection matches = ParamRegex().Matches(lastLine);
        if (matches.Count < 3)
        {
            throw new InvalidRequestException("parameters", "The text has no A1111 parameter line (\"Steps: ..., Sampler: ..., ...\").");
        }

        var prompt = new StringBuilder();
        var negative = new StringBuilder();
        bool inNegative = false;
        foreach (string raw in promptLines)
        {
            string line = raw.Trim();
            if (line.StartsWith(NegativePrefix, StringComparison.Ordinal))
            {
                inNegative = true;
                line = line[NegativePrefix.Length..].Trim();
            }
            StringBuilder target = inNegative ? negative : prompt;
            if (target.Length > 0)
            {
                target.Append('\n');
            }
            target.Append(line);
        }

        var values = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in matches)
        {
            values[match.Groups[1].Value] = Unquote(match.Groups[2].Value);
        }

        string size = Required(values, "Size");
        Match sizeMatch = SizeRegex().Match(size);
        if (!sizeMatch.Success)
        {
            throw new InvalidRequestException("parameters", $"Infotext Size '{size}' is not WIDTHxHEIGHT.");
        }
        var extra = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values)
        {
            if (!StandardKeys.Contains(key))
            {
                extra[key] = value;
            }
        }
        return new InfotextFields(
            Prompt: prompt.ToString(),
            NegativePrompt: negative.ToString(),
            Steps: ParseNumber<int>(values, "Steps"),
            Sampler: Required(values, "Sampler"),
            CfgScale: ParseNumber<float>(values, "CFG scale"),
            Seed: ParseNumber<long>(values, "Seed"),
            Width: ParseNumber<int>("Size", sizeMatch.Groups[1].Value),
            Height: ParseNumber<int>("Size", sizeMatch.Groups[2].Value),
            Model: values.GetValueOrDefault("Model", ""),
            DenoisingStrength: values.ContainsKey("Denoising strength") ? ParseNumber<float>(values, "Denoising strength") : null,
            Extra: extra);
    }

    /// <summary>A1111's <c>quote()</c>: values with ',', ':' or '\n' become <c>json.dumps(v, ensure_ascii=False)</c>.</summary>
    internal static string Quote(string value)
    {
        if (!value.Contains(',') && !value.Contains(':') && !value.Contains('\n'))
        {
            return value;
        }
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\b': builder.Append("\\b"); break;
                case '\f': builder.Append("\\f"); break;
                case < ' ': builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: builder.Append(c); break;
            }
        }
        builder.Append('"');
        return builder.ToString();
    }

    /// <summary>A1111's <c>unquote()</c>: a value in double quotes is read as a JSON string; if that fails it stays as is.</summary>
    internal static string Unquote(string value)
    {
        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
        {
            return value;
        }
        try
        {
            return JsonSerializer.Deserialize<string>(value) ?? value;
        }
        catch (JsonException)
        {
            return value;
        }
    }

    /// <summary>Shortest text that reads back to the same float, invariant culture ("0", "1.5", "0.35").</summary>
    private static string FormatFloat(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Required(OrderedDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out string? value)
            ? value
            : throw new InvalidRequestException("parameters", $"Infotext has no '{key}' field.");

    private static T ParseNumber<T>(OrderedDictionary<string, string> values, string key) where T : INumber<T> =>
        ParseNumber<T>(key, Required(values, key));

    private static T ParseNumber<T>(string key, string text) where T : INumber<T> =>
        T.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out T? value)
            ? value
            : throw new InvalidRequestException("parameters", $"Infotext '{key}' value '{text}' is not a valid {typeof(T).Name}.");
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace TurboGen.Server.Tests.Reliability.Fuzz;

/// <summary>
/// CsCheck generators of hostile and ordinary JSON values, written as JSON text by hand so that what a serializer
/// refuses to write can be sent too: lone UTF-16 surrogates as <c>\uD800</c> escapes, numbers beyond double and long,
/// deep nesting. Fields whose values drive the model's cost (sizes, counts, steps) get small valid values most of the
/// time, so the valid share of the fuzz runs in milliseconds on the tiny models.
/// </summary>
internal static class JsonFuzz
{
    /// <summary>Strings a client should never be able to hurt the server with.</summary>
    public static readonly string[] HostileStrings =
    [
        "", " ", "\u0000", "a\u0000b", "line\nbreak\ttab\r", "\u0007\u001b[31mred", "\u007f\u0085\u2028\u2029", "\ud800", "\udfff\ud800x",
        "\ufeff", "\u202eevil", "𝕏🎨🖼️", "é" + new string('\u0301', 200), "../../../etc/passwd", "..\\..\\windows\\win.ini", "/dev/zero", "C:\\con",
        "http://127.0.0.1:1/x.png", "file:///etc/passwd", "data:image/png;base64,", "data:text/plain,hi", "%s%n%x", "{{prompt}}", "{prompt}",
        "<script>alert(1)</script>", "' OR 1=1 --", "NaN", "Infinity", "-0", "null", "true", "[]", "{}", new string('x', 10_500), string.Concat(Enumerable.Repeat("😀", 5_000)),
    ];

    /// <summary>Number literals at and beyond every boundary (some are valid JSON a C# type cannot hold).</summary>
    public static readonly string[] HostileNumbers =
    [
        "0", "-0", "-1", "1", "0.5", "-0.5", "1e-320", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "1e308", "-1e308", "1e400", "123456789012345678901234567890", "1.0", "64.0", "64.5", "1E2", "0.0000001",
    ];

    /// <summary>Small valid values for the fields that decide how much work a request is.</summary>
    private static readonly Dictionary<string, string[]> CheapValues = new(StringComparer.Ordinal)
    {
        ["width"] = ["64", "72", "128", "64", "0", "65", "-64", "4096", "2056"],
        ["height"] = ["64", "128", "64", "96", "0", "63", "-8", "8192"],
        ["size"] = ["\"64x64\"", "\"128x64\"", "\"64X72\"", "\"x\"", "\"64x\"", "\"0x0\"", "\"99999x99999\"", "\"64x64x64\"", "\"-64x64\""],
        ["n"] = ["1", "2", "1", "0", "11", "17", "-1"],
        ["batch_size"] = ["1", "2", "1", "0", "17", "-3"],
        ["n_iter"] = ["1", "2", "1", "0", "9", "-1"],
        ["count"] = ["1", "2", "3", "0", "9", "-1"],
        ["steps"] = ["1", "2", "1", "4", "0", "51", "-1"],
        ["strength"] = ["0.5", "1", "0.01", "0", "1.5", "-0.2"],
        ["denoising_strength"] = ["0.5", "0.75", "1", "0", "2", "-1"],
        ["seed"] = ["-1", "0", "42", "4294967295", "4294967296", "-2", "1e20"],
        ["cfg_scale"] = ["1", "1.5", "7", "0", "51", "-1"],
        ["guidance_scale"] = ["0", "1.5", "7", "51", "-1"],
        ["quality"] = ["\"low\"", "\"medium\"", "\"high\"", "\"hd\"", "\"ultra\"", "90", "0", "101"],
        ["output_compression"] = ["50", "100", "0", "101", "-1"],
        ["requestId"] = [],
    };

    /// <summary>A small valid PNG in base64, and images that are not: garbage, a lying header, a URL.</summary>
    public static readonly string[] ImageValues =
    [
        Convert.ToBase64String(ApiTestHelpers.Png(8, 8)),
        "data:image/png;base64," + Convert.ToBase64String(ApiTestHelpers.Png(16, 8)),
        Convert.ToBase64String(ApiTestHelpers.HugePngHeader(100_000, 100_000)),
        Convert.ToBase64String(ApiTestHelpers.Png(8, 8).AsSpan(0, 40).ToArray()),
        "aGVsbG8gd29ybGQ=", "not base64!!", "data:image/png;base64,@@@", "http://127.0.0.1:1/x.png", "/etc/passwd",
    ];

    /// <summary>Values every front end accepts, for the valid share of the bodies (a field not listed is left out there).</summary>
    private static readonly Dictionary<string, string[]> ValidValues = new(StringComparer.Ordinal)
    {
        ["prompt"] = ["\"a cat\"", "\"a lighthouse at dusk, oil painting\"", "\"\"", "\"tab\\tand\\nnewline\"", "\"𝕏🎨 \\u00e9\""],
        ["negative_prompt"] = ["\"blurry\"", "\"\""],
        ["width"] = ["64", "128", "72"], ["height"] = ["64", "96", "128"], ["size"] = ["\"64x64\"", "\"128x64\"", "\"72X96\""],
        ["n"] = ["1", "2"], ["batch_size"] = ["1", "2"], ["n_iter"] = ["1", "2"], ["steps"] = ["1", "2", "3"],
        ["seed"] = ["-1", "0", "42", "4294967295"], ["subseed"] = ["-1", "7"], ["cfg_scale"] = ["1", "1.5"], ["guidance_scale"] = ["0", "1.5"],
        ["strength"] = ["0.5", "1"], ["denoising_strength"] = ["0.3", "0.75"], ["quality"] = ["\"low\"", "\"medium\"", "\"auto\""],
        ["response_format"] = ["\"b64_json\"", "\"url\""], ["output_format"] = ["\"png\"", "\"jpeg\"", "\"webp\""],
        ["output_compression"] = ["50", "100"], ["background"] = ["\"auto\"", "\"opaque\""], ["user"] = ["\"fuzz\"", "\"\""],
        ["model"] = ["\"dall-e-3\"", "\"gpt-image-1\"", "\"tiny/SdxlTurbo\""], ["style"] = ["\"none\"", "\"cinematic\""],
        ["styles"] = ["[]", "[\"cinematic\"]", "[\"no such style\"]"], ["sampler_name"] = ["\"Euler a\"", "\"DPM++ 2M\""],
        ["save_images"] = ["false", "true"], ["send_images"] = ["true", "false"], ["save"] = ["false", "true"], ["tiny_vae"] = ["true", "false"],
        ["enable_hr"] = ["false", "true"], ["restore_faces"] = ["false", "true"], ["tiling"] = ["false"], ["include_init_images"] = ["false", "true"],
        ["type"] = ["\"generate\"", "\"generate\"", "\"variants\"", "\"upscale\""], ["scale"] = ["1", "2", "1.5"], ["upscaler"] = ["\"Lanczos\""], ["negative"] = ["\"blurry\"", "\"\""], ["format"] = ["\"jpeg\"", "\"webp\""],
        ["live"] = ["true", "false"], ["refine"] = ["false", "false", "true"], ["count"] = ["1", "2"],
        ["override_settings"] = ["{}", "{\"sd_model_checkpoint\":\"SdxlTurbo\"}", "{\"CLIP_stop_at_last_layers\":2}"],
    };

    /// <summary>A valid value for the property, or null to leave it out of a valid body.</summary>
    public static Gen<string>? ValidValueFor(string name)
    {
        if (ImageFields.Contains(name))
        {
            return name == "mask" ? null : Gen.OneOf(ImageValues[..2]).Select(v => name == "init_images" ? "[" + Literal(v) + "]" : Literal(v));
        }
        return ValidValues.TryGetValue(name, out var values) ? Gen.OneOf(values) : null;
    }

    private static readonly HashSet<string> ImageFields = new(StringComparer.Ordinal) { "init_images", "init_image", "image", "mask" };

    /// <summary>A JSON string literal of <paramref name="text"/>, every non-ASCII or control char escaped (lone surrogates included).</summary>
    public static string Literal(string text)
    {
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (char c in text)
        {
            if (c == '"') sb.Append("\\\"");
            else if (c == '\\') sb.Append("\\\\");
            else if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    public static readonly Gen<string> Strings = Gen.Frequency(
        (4, Gen.OneOf("a cat", "a lighthouse at dusk", "", "cinematic", "png", "jpeg", "webp", "url", "b64_json", "none", "vivid", "Euler a", "auto").Select(Literal)),
        (4, Gen.OneOf(HostileStrings).Select(Literal)),
        (2, Gen.String[0, 60].Select(Literal)),
        (1, Gen.Char.Array[0, 30].Select(chars => Literal(new string(chars)))));

    public static readonly Gen<string> Numbers = Gen.Frequency(
        (3, Gen.Int[-3, 130].Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (3, Gen.OneOf(HostileNumbers)),
        (1, Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e999")));

    public static readonly Gen<string> Scalars = Gen.Frequency(
        (3, Strings), (3, Numbers), (1, Gen.OneOf("true", "false", "null")), (1, Gen.OneOf("[]", "{}", "[1,\"a\",null]", "{\"x\":{}}")));

    /// <summary>Nested arrays/objects deeper than any parser's default limit (System.Text.Json allows 64).</summary>
    public static readonly Gen<string> Deep = Gen.Int[60, 3000].Select(depth =>
        depth % 2 == 0 ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth));

    /// <summary>A value for a property of the given schema type (OpenAPI "integer", "number", "string", "boolean", "array", "object").</summary>
    public static Gen<string> ValueFor(string name, string? type, IReadOnlyList<string>? enumValues, string? itemType)
    {
        if (ImageFields.Contains(name))
        {
            var image = Gen.OneOf(ImageValues).Select(Literal);
            return type == "array"
                ? Gen.Frequency((6, image.Array[0, 2].Select(a => "[" + string.Join(",", a) + "]")), (1, Scalars), (1, image))
                : Gen.Frequency((6, image), (1, Scalars));
        }
        if (CheapValues.TryGetValue(name, out var cheap) && cheap.Length > 0)
        {
            return Gen.Frequency((8, Gen.OneOf(cheap)), (1, Numbers), (1, Scalars));
        }
        var typed = type switch
        {
            "integer" => Gen.Frequency((3, Gen.Int[-2, 40].Select(i => i.ToString(CultureInfo.InvariantCulture))), (2, Numbers)),
            "number" => Gen.Frequency((3, Gen.Double[-2, 10].Select(d => d.ToString("R", CultureInfo.InvariantCulture))), (2, Numbers)),
            "boolean" => Gen.OneOf("true", "false"),
            "string" when enumValues is { Count: > 0 } => Gen.Frequency((4, Gen.OneOf(enumValues.ToArray()).Select(Literal)), (1, Strings)),
            "string" => Strings,
            "array" => ValueFor(name + "[]", itemType, null, null).Array[0, 3].Select(a => "[" + string.Join(",", a) + "]"),
            "object" => Gen.Select(Gen.OneOf("sd_model_checkpoint", "CLIP_stop_at_last_layers", "x", "", "\u0000"), Scalars,
                (k, v) => "{" + Literal(k) + ":" + v + "}"),
            _ => Scalars,
        };
        return Gen.Frequency((8, typed), (1, Scalars), (1, Gen.Const("null")));
    }

    /// <summary>
    /// Request objects for a schema's properties: a third are valid (every property that has a known valid value, each
    /// present with probability 0.8), the rest mix valid, hostile and wrongly typed values in every property.
    /// </summary>
    public static Gen<string> Requests(IReadOnlyList<(string Name, string? Type, IReadOnlyList<string>? Enum, string? ItemType)> properties)
    {
        var valid = properties.Select(p => (p.Name, Value: ValidValueFor(p.Name))).Where(p => p.Value is not null).Select(p => (p.Name, p.Value!)).ToList();
        var mixed = properties.Select(p => (p.Name, Gen.Frequency((3, ValidValueFor(p.Name) ?? ValueFor(p.Name, p.Type, p.Enum, p.ItemType)),
            (1, ValueFor(p.Name, p.Type, p.Enum, p.ItemType))))).ToList();
        return Gen.Frequency((1, Object(valid)), (2, Object(mixed)));
    }

    /// <summary>A JSON object from (name, value generator) pairs: each property present with probability 0.8, unknown extras sometimes.</summary>
    public static Gen<string> Object(IReadOnlyList<(string Name, Gen<string> Value)> properties)
    {
        // Sizes are nearly always given: an absent size is the model's native 512², the costly case.
        var present = properties.Select(p => Gen.Frequency((p.Name is "width" or "height" or "size" ? 38 : 8, p.Value.Select(v => (string?)(Literal(p.Name) + ":" + v))),
            (2, Gen.Const((string?)null)))).ToArray();
        var extras = Gen.Frequency((6, Gen.Const("")), (1, Gen.Select(Strings, Scalars, (k, v) => k + ":" + v)));
        return Gen.Select(Sequence(present), extras, (fields, extra) =>
            "{" + string.Join(",", fields.Where(f => f is not null).Concat(extra.Length > 0 ? [extra] : [])) + "}");
    }

    /// <summary>Whole-body damage: truncation, invalid UTF-8, deep nesting, the wrong top-level value, duplicate keys, a BOM.</summary>
    public static Gen<byte[]> Bodies(Gen<string> valid) => Gen.Frequency(
        (14, valid.Select(Encoding.UTF8.GetBytes)),
        (1, Gen.Select(valid, Gen.Double[0, 1], (v, f) => Encoding.UTF8.GetBytes(v[..(int)(v.Length * f)]))),
        (1, Gen.Select(valid, Gen.OneOf<byte[]>([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]),
            (v, bad) => Encoding.UTF8.GetBytes(v[..(v.Length / 2)]).Concat(bad).Concat(Encoding.UTF8.GetBytes(v[(v.Length / 2)..])).ToArray())),
        (1, Deep.Select(d => Encoding.UTF8.GetBytes("{\"prompt\":" + d + "}"))),
        (1, Deep.Select(Encoding.UTF8.GetBytes)),
        (1, Gen.OneOf("", "null", "[]", "\"a cat\"", "42", "prompt=a cat", "{", "}", "{\"prompt\":\"a\",\"prompt\":7}", "{\"prompt\":\"a cat\"}garbage")
            .Select(Encoding.UTF8.GetBytes)),
        (1, valid.Select(v => new byte[] { 0xef, 0xbb, 0xbf }.Concat(Encoding.UTF8.GetBytes(v)).ToArray())));

    /// <summary>One generator of all the values of <paramref name="gens"/>, in order.</summary>
    public static Gen<string?[]> Sequence(Gen<string?>[] gens) =>
        gens.Aggregate(Gen.Const(Array.Empty<string?>()), (acc, g) => Gen.Select(acc, g, (a, v) => a.Append(v).ToArray()));

    /// <summary>The schema's properties: (name, OpenAPI type, enum, item type), $refs resolved against <paramref name="document"/>.</summary>
    public static IReadOnlyList<(string Name, string? Type, IReadOnlyList<string>? Enum, string? ItemType)> Properties(JsonElement document, JsonElement schema)
    {
        schema = Resolve(document, schema);
        var list = new List<(string, string?, IReadOnlyList<string>?, string?)>();
        if (!schema.TryGetProperty("properties", out var properties)) return list;
        foreach (var property in properties.EnumerateObject())
        {
            var p = Resolve(document, property.Value);
            var item = p.TryGetProperty("items", out var items) ? TypeOf(Resolve(document, items)) : null;
            IReadOnlyList<string>? values = p.TryGetProperty("enum", out var e) ? e.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : null;
            list.Add((property.Name, TypeOf(p), values, item));
        }
        return list;
    }

    private static JsonElement Resolve(JsonElement document, JsonElement schema)
    {
        for (int i = 0; i < 8 && schema.TryGetProperty("$ref", out var reference); i++)
        {
            var node = document;
            foreach (string part in reference.GetString()!.TrimStart('#', '/').Split('/')) node = node.GetProperty(part);
            schema = node;
        }
        return schema;
    }

    private static string? TypeOf(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type)) return schema.TryGetProperty("properties", out _) ? "object" : null;
        return type.ValueKind == JsonValueKind.Array
            ? type.EnumerateArray().Select(t => t.GetString()).FirstOrDefault(t => t != "null")
            : type.GetString();
    }
}

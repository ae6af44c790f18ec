using System.Globalization;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api.A1111;

/// <summary>
/// The A1111 ControlNet extension's request shape on txt2img and img2img: <c>alwayson_scripts.controlnet.args</c>, a list of units
/// with the extension's field names (<c>image</c> or <c>input_image</c>, <c>module</c>, <c>model</c>, <c>weight</c> 0–2,
/// <c>guidance_start</c>/<c>guidance_end</c>, <c>resize_mode</c>, <c>processor_res</c>, <c>threshold_a</c>/<c>threshold_b</c>,
/// <c>pixel_perfect</c>, <c>enabled</c>). A unit without <c>enabled</c> is on when it has an image or names a model (the
/// extension's API defaulted to on before it moved to off); an img2img unit without an image uses the init image, as the
/// extension does. Every violation names its field (<c>alwayson_scripts.controlnet.args[0].module</c>; 422); fields TurboGen
/// accepts but does not honour are reported in <c>turbogen_ignored</c>.
/// </summary>
public static class A1111ControlNet
{
    /// <summary>The key of the ControlNet script in <c>alwayson_scripts</c>.</summary>
    public const string ScriptKey = "controlnet";

    /// <summary>A1111 module names (and UI aliases) → the engine module (<see cref="ControlImages.Modules"/>).</summary>
    private static readonly Dictionary<string, string> ModuleNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["none"] = "none",
        ["canny"] = "canny",
        ["invert"] = "lineart",
        [InvertAlias] = "lineart",
        ["scribble"] = "scribble",
        ["lineart"] = "lineart",
    };

    private const string InvertAlias = "invert (from white bg & black line)";

    /// <summary>The modules of <c>/controlnet/module_list</c>, with their sliders (resolution, then threshold_a, threshold_b).</summary>
    public static IReadOnlyList<(string Name, string? Alias, IReadOnlyList<A1111Slider> Sliders)> Modules { get; } =
    [
        ("none", null, []),
        ("canny", null, [Resolution, new("Canny Low Threshold", 100, 1, 255), new("Canny High Threshold", 200, 1, 255)]),
        ("invert", InvertAlias, [Resolution]),
        ("scribble", null, [Resolution, new("Threshold", 127, 0, 255)]),
        ("lineart", null, [Resolution]),
    ];

    private static A1111Slider Resolution => new("Preprocessor Resolution", 512, ControlImages.MinResolution, ControlImages.MaxResolution);

    private static readonly HashSet<string> Ignorable = new(StringComparer.Ordinal)
    {
        "low_vram", "lowvram", "save_detected_map", "is_ui", "input_mode", "batch_images", "output_dir", "loopback", "inpaint_crop_input_image",
    };

    /// <summary>
    /// The ControlNets of <paramref name="scripts"/> for an output of <paramref name="width"/> × <paramref name="height"/>;
    /// <paramref name="init"/> is img2img's init image (null for txt2img). Ignored fields go into <paramref name="ignored"/>.
    /// </summary>
    public static IReadOnlyList<ControlInput> Map(Dictionary<string, JsonElement>? scripts, ControlNetSet controlnets, int width, int height,
        RgbImage? init, IDictionary<string, string> ignored, IDictionary<string, string>? infotext = null)
    {
        if (scripts is null) return [];
        var entry = scripts.FirstOrDefault(kv => kv.Key.Equals(ScriptKey, StringComparison.OrdinalIgnoreCase));
        if (entry.Key is null || entry.Value.ValueKind == JsonValueKind.Null) return [];
        string prefix = $"alwayson_scripts.{entry.Key}";
        if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("args", out var args) || args.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestException($"{prefix}.args", $"{prefix} must be an object with an \"args\" list of ControlNet units.");
        }
        var controls = new List<ControlInput>();
        int index = 0;
        foreach (var unit in args.EnumerateArray())
        {
            string field = $"{prefix}.args[{index++}]";
            if (unit.ValueKind == JsonValueKind.Null) continue;
            if (unit.ValueKind != JsonValueKind.Object) throw new InvalidRequestException(field, $"{field} must be a ControlNet unit (a JSON object).");
            if (MapUnit(field, unit, controlnets, width, height, init, ignored) is { } mapped)
            {
                if (infotext is not null) infotext[$"ControlNet {controls.Count}"] = mapped.Infotext;
                controls.Add(mapped.Control);
            }
        }
        if (controls.Count > A1111ControlNetApi.MaxUnits)
        {
            throw new InvalidRequestException($"{prefix}.args", $"At most {A1111ControlNetApi.MaxUnits} ControlNet units may be enabled (got {controls.Count}).");
        }
        return controls;
    }

    /// <summary>
    /// <c>POST /controlnet/detect</c>: runs a module on each image at its <c>processor_res</c> / thresholds (the body's
    /// <c>controlnet_*</c> fields, named in errors) and returns the detected maps.
    /// </summary>
    public static IReadOnlyList<RgbImage> Detect(IReadOnlyDictionary<string, JsonElement> body)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var (name, value) in body)
        {
            if (name.StartsWith("controlnet_", StringComparison.Ordinal)) fields[name["controlnet_".Length..]] = value;
        }
        string moduleName = Text(fields, "module", "controlnet_") ?? "none";
        if (!ModuleNames.TryGetValue(moduleName.Trim(), out string? module))
        {
            throw new InvalidRequestException("controlnet_module",
                $"Unknown ControlNet module '{moduleName}'; available: {string.Join(", ", Modules.Select(m => m.Name))} (GET /controlnet/module_list).");
        }
        if (!fields.TryGetValue("input_images", out var images) || images.ValueKind != JsonValueKind.Array || images.GetArrayLength() == 0)
        {
            throw new InvalidRequestException("controlnet_input_images", "controlnet_input_images must be a list of base64 images (at least one).");
        }
        if (images.GetArrayLength() > RequestLimits.MaxImagesPerRequest)
        {
            throw new InvalidRequestException("controlnet_input_images", $"At most {RequestLimits.MaxImagesPerRequest} images per request (got {images.GetArrayLength()}).");
        }
        var ignored = new Dictionary<string, string>();
        var maps = new List<RgbImage>();
        int index = 0;
        foreach (var item in images.EnumerateArray())
        {
            string field = $"controlnet_input_images[{index++}]";
            var source = InputImages.FromBase64(field, item.ValueKind == JsonValueKind.String ? item.GetString() : null);
            var (resolution, low, high) = Sliders("controlnet_", module, fields, source, source.Width, source.Height, ControlFit.Stretch, ignored);
            maps.Add(ControlImages.Preprocess("controlnet_module", module, source, low, high, resolution));
        }
        return maps;
    }

    private static (ControlInput Control, string Infotext)? MapUnit(string field, JsonElement unit, ControlNetSet controlnets, int width, int height, RgbImage? init,
        IDictionary<string, string> ignored)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in unit.EnumerateObject()) fields[property.Name] = property.Value;
        string? imageKey = fields.ContainsKey("image") && fields.ContainsKey("input_image")
            ? throw new InvalidRequestException($"{field}.input_image", $"{field} has both image and input_image; send one.")
            : fields.ContainsKey("image") ? "image" : fields.ContainsKey("input_image") ? "input_image" : null;
        string? imageText = imageKey is null ? null : ImageText($"{field}.{imageKey}", fields[imageKey], ignored);
        string model = Text(fields, "model", field) ?? "None";
        bool enabled = fields.TryGetValue("enabled", out var on) && on.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? on.GetBoolean()
            : imageText is not null || !model.Equals("None", StringComparison.OrdinalIgnoreCase);
        if (!enabled) return null;

        string moduleName = Text(fields, "module", field) ?? "none";
        if (!ModuleNames.TryGetValue(moduleName.Trim(), out string? module))
        {
            throw new InvalidRequestException($"{field}.module",
                $"Unknown ControlNet module '{moduleName}'; available: {string.Join(", ", Modules.Select(m => m.Name))} (GET /controlnet/module_list).");
        }
        if (model.Equals("None", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidRequestException($"{field}.model", $"{field} is enabled but names no ControlNet model (GET /controlnet/model_list lists them).");
        }
        var controlnet = controlnets.Require($"{field}.model", model);
        float weight = (float)Number(fields, "weight", field, 1);
        if (weight is < 0 or > 2) throw new InvalidRequestException($"{field}.weight", $"{field}.weight must be between 0 and 2 (got {Format(weight)}).");
        float start = (float)Number(fields, "guidance_start", field, 0), end = (float)Number(fields, "guidance_end", field, fields.ContainsKey("guidance") ? Number(fields, "guidance", field, 1) : 1);
        if (start is < 0 or > 1) throw new InvalidRequestException($"{field}.guidance_start", $"{field}.guidance_start must be between 0 and 1 (got {Format(start)}).");
        if (end is < 0 or > 1) throw new InvalidRequestException($"{field}.guidance_end", $"{field}.guidance_end must be between 0 and 1 (got {Format(end)}).");
        if (start >= end) throw new InvalidRequestException($"{field}.guidance_end", $"{field}.guidance_end must be greater than guidance_start (got {Format(start)} and {Format(end)}).");
        var fit = ResizeMode(field, fields);

        RgbImage source = imageText is not null ? InputImages.FromBase64($"{field}.{imageKey}", imageText)
            : init ?? throw new InvalidRequestException($"{field}.image", $"{field} is enabled but has no image (send base64 image data as \"image\").");
        var (resolution, low, high) = Sliders(field, module, fields, source, width, height, fit, ignored);
        var image = ControlImages.Prepare($"{field}.module", module, source, width, height, fit, low, high, resolution);

        if (fields.TryGetValue("control_mode", out var mode) && !(mode.ValueKind == JsonValueKind.Number && mode.TryGetInt32(out int m) && m == 0)
            && !(mode.ValueKind == JsonValueKind.String && mode.GetString() is "Balanced" or "0"))
        {
            ignored[$"{field}.control_mode"] = "only the Balanced control mode is available";
        }
        foreach (string key in fields.Keys)
        {
            if (key is "mask" or "mask_image" or "effective_region_mask") ignored[$"{field}.{key}"] = "ControlNet masks are not available; the whole image steers";
            else if (key is "advanced_weighting") ignored[$"{field}.{key}"] = "per-layer weights are not available; weight applies to every residual";
            else if (key is "hr_option" or "ipadapter_input" or "pulid_mode" or "guess_mode" or "guessmode") ignored[$"{field}.{key}"] = "not available in TurboGen";
            else if (!Known.Contains(key) && !Ignorable.Contains(key)) ignored[$"{field}.{key}"] = "not a ControlNet unit field";
        }
        // The extension's infotext entry ("ControlNet 0": "Module: canny, Model: …, Weight: 1, …").
        string infotext = $"Module: {moduleName.Trim()}, Model: {model}, Weight: {Format(weight)}, Resize Mode: {FitName(fit)}, "
            + (resolution is int r ? $"Processor Res: {r}, " : "") + (low is double a ? $"Threshold A: {Format(a)}, " : "") + (high is double b ? $"Threshold B: {Format(b)}, " : "")
            + $"Guidance Start: {Format(start)}, Guidance End: {Format(end)}, Control Mode: Balanced";
        return (new ControlInput(controlnet, image) { Scale = weight, GuidanceStart = start, GuidanceEnd = end }, infotext);
    }

    private static string FitName(ControlFit fit) => fit switch
    {
        ControlFit.Stretch => "Just Resize",
        ControlFit.Fill => "Resize and Fill",
        _ => "Crop and Resize",
    };

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "enabled", "image", "input_image", "module", "model", "weight", "guidance_start", "guidance_end", "guidance", "resize_mode",
        "processor_res", "threshold_a", "threshold_b", "pixel_perfect", "control_mode",
    };

    /// <summary>processor_res, threshold_a and threshold_b as the module reads them; -1 or out of range → the default (as the extension does).</summary>
    private static (int? Resolution, double? Low, double? High) Sliders(string field, string module, Dictionary<string, JsonElement> fields, RgbImage source,
        int width, int height, ControlFit fit, IDictionary<string, string> ignored)
    {
        var sliders = Modules.First(m => ModuleNames[m.Name] == module).Sliders; // invert and lineart share theirs
        double?[] values = new double?[3];
        string[] names = ["processor_res", "threshold_a", "threshold_b"];
        for (int i = 0; i < 3; i++)
        {
            if (!fields.ContainsKey(names[i])) continue;
            double value = Number(fields, names[i], field, -1);
            if (i >= sliders.Count)
            {
                if (value != -1) ignored[$"{field}.{names[i]}"] = $"module '{module}' has no such setting";
                continue;
            }
            if (value < sliders[i].Min || value > sliders[i].Max)
            {
                if (value != -1) ignored[$"{field}.{names[i]}"] = $"out of range {Format(sliders[i].Min)}–{Format(sliders[i].Max)}; the default {Format(sliders[i].Value)} was used";
                continue;
            }
            values[i] = value;
        }
        int? resolution = module == "none" ? null : (int)Math.Round(values[0] ?? sliders[0].Value);
        if (module != "none" && fields.TryGetValue("pixel_perfect", out var pp) && pp.ValueKind == JsonValueKind.True)
        {
            double k = fit == ControlFit.Fill
                ? Math.Min((double)height / source.Height, (double)width / source.Width)
                : Math.Max((double)height / source.Height, (double)width / source.Width);
            resolution = Math.Clamp((int)Math.Round(k * Math.Min(source.Width, source.Height)), ControlImages.MinResolution, ControlImages.MaxResolution);
        }
        return module switch
        {
            "canny" => (resolution, values[1] ?? sliders[1].Value, values[2] ?? sliders[2].Value),
            "scribble" => (resolution, values[1] ?? sliders[1].Value, null),
            _ => (resolution, null, null),
        };
    }

    /// <summary>resize_mode: 0/"Just Resize", 1/"Crop and Resize" (default), 2/"Resize and Fill", 3 (latent upscale) as 0, and the extension's old aliases.</summary>
    private static ControlFit ResizeMode(string field, Dictionary<string, JsonElement> fields)
    {
        if (!fields.TryGetValue("resize_mode", out var value) || value.ValueKind == JsonValueKind.Null) return ControlFit.Crop;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n))
        {
            return n switch
            {
                0 or 3 => ControlFit.Stretch,
                1 => ControlFit.Crop,
                2 => ControlFit.Fill,
                _ => throw new InvalidRequestException($"{field}.resize_mode", $"{field}.resize_mode must be 0 (Just Resize), 1 (Crop and Resize) or 2 (Resize and Fill) (got {n})."),
            };
        }
        return (value.ValueKind == JsonValueKind.String ? value.GetString() : null) switch
        {
            "Just Resize" or "0" or "3" => ControlFit.Stretch,
            "Crop and Resize" or "Inner Fit (Scale to Fit)" or "Scale to Fit (Inner Fit)" or "1" => ControlFit.Crop,
            "Resize and Fill" or "Outer Fit (Shrink to Fit)" or "Envelope (Outer Fit)" or "2" => ControlFit.Fill,
            _ => throw new InvalidRequestException($"{field}.resize_mode",
                $"{field}.resize_mode must be \"Just Resize\", \"Crop and Resize\" or \"Resize and Fill\" (or 0, 1, 2); got {value.GetRawText()}."),
        };
    }

    /// <summary>The base64 of an image field: a string, or the extension's <c>{"image": ..., "mask": ...}</c> object (the mask is not used).</summary>
    private static string? ImageText(string field, JsonElement value, IDictionary<string, string> ignored)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return string.IsNullOrEmpty(value.GetString()) ? null : value.GetString();
            case JsonValueKind.Object when value.TryGetProperty("image", out var inner) && inner.ValueKind == JsonValueKind.String:
                if (value.TryGetProperty("mask", out var mask) && mask.ValueKind != JsonValueKind.Null) ignored[$"{field}.mask"] = "ControlNet masks are not available";
                return inner.GetString();
            default:
                throw new InvalidRequestException(field, $"{field} must be base64 image data (or {{\"image\": base64}}).");
        }
    }

    private static string? Text(Dictionary<string, JsonElement> fields, string name, string field) =>
        !fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new InvalidRequestException(Key(field, name), $"{Key(field, name)} must be a string.");

    private static double Number(Dictionary<string, JsonElement> fields, string name, string field, double fallback)
    {
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double d) && double.IsFinite(d)) return d;
        if (value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) && double.IsFinite(d)) return d;
        throw new InvalidRequestException(Key(field, name), $"{Key(field, name)} must be a number (got {value.GetRawText()}).");
    }

    /// <summary>A unit's field ("…args[0].weight"), or a detect body's ("controlnet_" + name).</summary>
    private static string Key(string field, string name) => field.EndsWith('_') ? field + name : $"{field}.{name}";

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>One preprocessor slider of <c>/controlnet/module_list</c>'s <c>module_detail</c> (the extension's shape).</summary>
public sealed record A1111Slider(
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
    [property: System.Text.Json.Serialization.JsonPropertyName("value")] double Value,
    [property: System.Text.Json.Serialization.JsonPropertyName("min")] double Min,
    [property: System.Text.Json.Serialization.JsonPropertyName("max")] double Max);

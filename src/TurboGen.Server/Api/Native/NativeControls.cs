using System.Globalization;
using System.Text.Json.Serialization;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;

namespace TurboGen.Server.Api.Native;

/// <summary>One entry of <c>controls</c> on <c>POST /api/generate</c>: a ControlNet the server was started with, its image and how it steers.</summary>
public sealed class NativeControl
{
    /// <summary>Base64 image or data URL.</summary>
    [JsonPropertyName("image")] public string? Image { get; set; }
    /// <summary>none (a ready control image), canny, scribble, invert or lineart.</summary>
    [JsonPropertyName("preprocessor")] public string? Preprocessor { get; set; }
    /// <summary>The ControlNet's name (<c>GET /api/info</c> lists them).</summary>
    [JsonPropertyName("model")] public string? Model { get; set; }
    /// <summary>Conditioning scale, 0–5 (1 = as trained).</summary>
    [JsonPropertyName("scale")] public float Scale { get; set; } = 1;
    /// <summary>Fractions of the steps during which it acts (0 ≤ start &lt; end ≤ 1).</summary>
    [JsonPropertyName("start")] public float Start { get; set; }
    [JsonPropertyName("end")] public float End { get; set; } = 1;
    /// <summary>stretch (default, as diffusers), crop or fill: how an image of another aspect ratio meets the output size.</summary>
    [JsonPropertyName("resize")] public string? Resize { get; set; }
    /// <summary>canny: low and high thresholds (default 100, 200); scribble: <c>low</c> is the binarising threshold (default 127).</summary>
    [JsonPropertyName("low_threshold")] public double? LowThreshold { get; set; }
    [JsonPropertyName("high_threshold")] public double? HighThreshold { get; set; }
}

/// <summary>Maps <see cref="NativeControl"/> entries onto the engine's <see cref="ControlInput"/>s; every error names <c>controls[i].field</c>.</summary>
public static class NativeControls
{
    public const int MaxControls = 4;

    public static IReadOnlyList<ControlInput> Map(IReadOnlyList<NativeControl?>? controls, ControlNetSet controlnets, int width, int height)
    {
        if (controls is null || controls.Count == 0) return [];
        if (controls.Count > MaxControls) throw new InvalidRequestException("controls", $"At most {MaxControls} controls may be given (got {controls.Count}).");
        var inputs = new List<ControlInput>();
        for (int i = 0; i < controls.Count; i++)
        {
            string field = $"controls[{i}]";
            var c = controls[i] ?? throw new InvalidRequestException(field, $"{field} must be an object.");
            var controlnet = controlnets.Require($"{field}.model", c.Model);
            if (!float.IsFinite(c.Scale) || c.Scale is < 0 or > ControlInput.MaxScale)
            {
                throw new InvalidRequestException($"{field}.scale", $"{field}.scale must be between 0 and {ControlInput.MaxScale} (got {Format(c.Scale)}).");
            }
            if (c.Start is < 0 or > 1 || !float.IsFinite(c.Start)) throw new InvalidRequestException($"{field}.start", $"{field}.start must be between 0 and 1 (got {Format(c.Start)}).");
            if (c.End is < 0 or > 1 || !float.IsFinite(c.End)) throw new InvalidRequestException($"{field}.end", $"{field}.end must be between 0 and 1 (got {Format(c.End)}).");
            if (c.Start >= c.End) throw new InvalidRequestException($"{field}.end", $"{field}.end must be greater than start (got {Format(c.Start)} and {Format(c.End)}).");
            var fit = (c.Resize ?? "stretch").Trim().ToLowerInvariant() switch
            {
                "stretch" => ControlFit.Stretch,
                "crop" => ControlFit.Crop,
                "fill" => ControlFit.Fill,
                _ => throw new InvalidRequestException($"{field}.resize", $"{field}.resize must be stretch, crop or fill (got '{c.Resize}')."),
            };
            foreach (var (name, value) in new[] { ("low_threshold", c.LowThreshold), ("high_threshold", c.HighThreshold) })
            {
                if (value is { } v && (!double.IsFinite(v) || v is < 0 or > 255)) throw new InvalidRequestException($"{field}.{name}", $"{field}.{name} must be between 0 and 255 (got {v}).");
            }
            string module = (c.Preprocessor ?? "none").Trim().ToLowerInvariant();
            if (!ControlImages.Modules.Contains(module))
            {
                throw new InvalidRequestException($"{field}.preprocessor", $"Unknown preprocessor '{c.Preprocessor}'; available: {string.Join(", ", ControlImages.Modules)}.");
            }
            RgbImage source = InputImages.FromBase64($"{field}.image", c.Image);
            var image = ControlImages.Prepare($"{field}.preprocessor", module, source, width, height, fit, c.LowThreshold, c.HighThreshold);
            inputs.Add(new ControlInput(controlnet, image) { Scale = c.Scale, GuidanceStart = c.Start, GuidanceEnd = c.End });
        }
        return inputs;
    }

    private static string Format(float value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

using System.Globalization;
using TurboGen.Server.Policy;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Api.OpenAi;

/// <summary>
/// How OpenAI image parameters map onto TurboGen:
/// <list type="bullet">
/// <item><c>model</c>: absent, the loaded model's id, or an OpenAI image model name (<c>dall-e-2</c>, <c>dall-e-3</c>,
/// <c>gpt-image-*</c>) — all run the loaded model (OpenAI clients always send a model name). Anything else is 404
/// <c>model_not_found</c>.</item>
/// <item><c>size</c>: "WxH" with sides multiples of 8 from 64 to 2048, or "auto"/absent = the model's native size
/// (edits: the input's aspect ratio at about the native pixel count).</item>
/// <item><c>quality</c>: low/standard/auto → 1 step, medium → 2 steps, high/hd → 4 steps.</item>
/// <item><c>style</c>: vivid/natural or any TurboGen style name; the styled prompt is returned as <c>revised_prompt</c>.</item>
/// <item><c>response_format</c>: b64_json or url; default url for dall-e-2/3 (as OpenAI), b64_json otherwise.</item>
/// <item><c>output_format</c> png/jpeg/webp, <c>output_compression</c> 0–100 = JPEG/WebP quality (default 100).</item>
/// </list>
/// </summary>
public static class OpenAiImageParameters
{
    public const int MaxN = 10;

    /// <summary>Checks <c>model</c>; returns true when it is a DALL·E alias (whose default response format is url).</summary>
    public static bool ResolveModel(string? model, LoadedModelInfo loaded)
    {
        if (string.IsNullOrWhiteSpace(model) || loaded.AnswersTo(model)) return false;
        string m = model.Trim().ToLowerInvariant();
        if (m.StartsWith("dall-e", StringComparison.Ordinal)) return true;
        if (m.StartsWith("gpt-image", StringComparison.Ordinal) || m == "turbogen") return false;
        throw new ApiException(404, "model_not_found",
            $"The model '{model}' does not exist on this server. Use '{loaded.Id}' (or an OpenAI image model name such as dall-e-3 or gpt-image-1, which run it).", "model");
    }

    public static int ParseN(int? n)
    {
        int value = n ?? 1;
        if (value is < 1 or > MaxN)
        {
            throw new InvalidRequestException("n", $"n must be between 1 and {MaxN} (got {value}).");
        }
        return value;
    }

    /// <summary>"WxH" → (W, H); "auto"/null → <paramref name="auto"/>.</summary>
    public static (int Width, int Height) ParseSize(string? size, (int Width, int Height) auto)
    {
        if (string.IsNullOrWhiteSpace(size) || size.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)) return auto;
        string[] parts = size.Trim().ToLowerInvariant().Split('x');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h))
        {
            throw new InvalidRequestException("size", $"size must be 'auto' or WIDTHxHEIGHT such as 512x512 (got '{size}').");
        }
        RequestLimits.CheckSide("size", w, "size width");
        RequestLimits.CheckSide("size", h, "size height");
        return (w, h);
    }

    /// <summary>The size for "auto" on an edit: the input's aspect ratio at about <paramref name="nativeSide"/>² pixels, multiples of 8.</summary>
    public static (int Width, int Height) AutoSizeFor(int inputWidth, int inputHeight, int nativeSide)
    {
        double scale = Math.Sqrt((double)nativeSide * nativeSide / ((double)inputWidth * inputHeight));
        return (Snap(inputWidth * scale), Snap(inputHeight * scale));

        static int Snap(double side) => Math.Clamp((int)Math.Round(side / 8) * 8, RequestLimits.MinSide, RequestLimits.MaxSide);
    }

    /// <summary>quality → denoising steps.</summary>
    public static int StepsFor(string? quality) => quality?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" or "low" or "standard" => 1,
        "medium" => 2,
        "high" or "hd" => 4,
        _ => throw new InvalidRequestException("quality", $"quality must be low, medium, high, standard, hd or auto (got '{quality}')."),
    };

    /// <summary>The quality name echoed in the response.</summary>
    public static string QualityName(string? quality) =>
        string.IsNullOrWhiteSpace(quality) || quality.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase) ? "low" : quality.Trim().ToLowerInvariant();

    /// <summary>The style named by <c>style</c> (absent/none: no style); unknown names are 400 naming <c>style</c>.</summary>
    public static StylePreset? ParseStyle(string? style, StylePresets styles) => styles.FindOrNone(style);

    /// <summary>true = url, false = b64_json.</summary>
    public static bool WantsUrl(string? responseFormat, bool dallE) => responseFormat?.Trim().ToLowerInvariant() switch
    {
        null or "" => dallE,
        "url" => true,
        "b64_json" => false,
        _ => throw new InvalidRequestException("response_format", $"response_format must be url or b64_json (got '{responseFormat}')."),
    };

    /// <summary>output_compression 0–100 → encoder quality 1–100 (default 100).</summary>
    public static int CompressionQuality(int? compression)
    {
        int value = compression ?? 100;
        if (value is < 0 or > 100)
        {
            throw new InvalidRequestException("output_compression", $"output_compression must be between 0 and 100 (got {value}).");
        }
        return Math.Max(1, value);
    }
}

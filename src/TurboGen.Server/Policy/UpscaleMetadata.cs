using System.Globalization;
using System.Text.Json;
using TurboGen.Imaging;

namespace TurboGen.Server.Policy;

/// <summary>
/// What an upscaled picture is: the upscaler, its size, the size of the picture it was made from, and whether the turbo
/// model refined it (the <c>turbogen</c> PNG chunk of an upscale; a history entry shows it).
/// </summary>
public sealed record UpscaleRecord(string Upscaler, int Width, int Height, int SourceWidth, int SourceHeight, bool Refined);

/// <summary>
/// The one way an upscaled picture's PNG metadata is written and read back: the A1111-style infotext and the
/// <c>turbogen</c> JSON of its <see cref="UpscaleRecord"/> (snake_case, as <c>GenerationMetadata</c>'s records), which
/// <see cref="OutputHistory"/> tells apart from a generation's record by its <c>upscaler</c> field.
/// </summary>
public static class UpscaleMetadata
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The record's <c>turbogen</c> JSON.</summary>
    public static string ToJson(UpscaleRecord record) => JsonSerializer.Serialize(record, Json);

    /// <summary>The PNG metadata of an upscale: <c>Upscaler: X, Size: WxH, Source size: wxh</c> (and the refine prompt) and the JSON.</summary>
    public static ImageMetadata For(UpscaleRecord record, string? refinePrompt) => new(
        string.Create(CultureInfo.InvariantCulture, $"Upscaler: {record.Upscaler}, Size: {record.Width}x{record.Height}, Source size: {record.SourceWidth}x{record.SourceHeight}")
            + (refinePrompt is null ? "" : $", Refine: {refinePrompt}"),
        ToJson(record));

    /// <summary>The upscale record of a <c>turbogen</c> JSON chunk, or null when the chunk is not an upscale's (a generation's record).</summary>
    public static UpscaleRecord? Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("upscaler", out _)) return null;
            return doc.RootElement.Deserialize<UpscaleRecord>(Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

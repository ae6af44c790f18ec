using TurboGen.Imaging;

namespace TurboGen.Server.Policy;

/// <summary>Output file formats the APIs can return, with their encoders.</summary>
public enum ImageOutputFormat { Png, Jpeg, Webp }

/// <summary>Encodes generated images for API responses (PNG carries the generation metadata; JPEG/WebP take a quality).</summary>
public static class ImageOutput
{
    /// <summary>"png", "jpeg"/"jpg", "webp" (case-insensitive); null → PNG.</summary>
    public static ImageOutputFormat Parse(string field, string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "png" => ImageOutputFormat.Png,
        "jpeg" or "jpg" => ImageOutputFormat.Jpeg,
        "webp" => ImageOutputFormat.Webp,
        _ => throw new InvalidRequestException(field, $"{field} must be png, jpeg or webp (got '{value}')."),
    };

    public static byte[] Encode(RgbImage image, ImageOutputFormat format, int quality, ImageMetadata? metadata) => format switch
    {
        ImageOutputFormat.Jpeg => ImageCodec.EncodeJpeg(image, quality),
        ImageOutputFormat.Webp => ImageCodec.EncodeWebp(image, quality),
        _ => ImageCodec.EncodePng(image, metadata),
    };

    public static string Name(ImageOutputFormat format) => format switch
    {
        ImageOutputFormat.Jpeg => "jpeg",
        ImageOutputFormat.Webp => "webp",
        _ => "png",
    };

    public static string ContentType(ImageOutputFormat format) => "image/" + Name(format);
}

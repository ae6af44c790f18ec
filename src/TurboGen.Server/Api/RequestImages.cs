using TurboGen.Imaging;

namespace TurboGen.Server.Api;

/// <summary>
/// Input images sent by clients (base64, data URLs or multipart files). Everything is checked before pixels are
/// decoded: base64 validity, then the header (<see cref="ImageCodec.Probe"/>) for format and dimensions against
/// <see cref="ApiLimits.MaxInputPixels"/> / <see cref="ApiLimits.MaxInputSide"/>. URLs and file paths are refused:
/// a request never makes the server read a file or fetch a URL. Every failure names the request field.
/// </summary>
public static class RequestImages
{
    /// <summary>Decodes base64 image data, optionally as a data URL (<c>data:image/png;base64,...</c>).</summary>
    public static RgbImage FromBase64(string field, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidRequestException(field, $"{field} is empty: send base64-encoded image data.");
        }
        string data = text.Trim();
        if (data.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || data.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || data.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidRequestException(field, $"{field} must be base64 image data; URLs and file paths are not accepted.");
        }
        if (data.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = data.IndexOf(',');
            if (comma < 0 || !data.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidRequestException(field, $"{field} is a data URL without base64 data (expected data:image/...;base64,...).");
            }
            data = data[(comma + 1)..];
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(data);
        }
        catch (FormatException)
        {
            throw new InvalidRequestException(field, $"{field} is not valid base64.");
        }
        return FromBytes(field, bytes);
    }

    /// <summary>Decodes an image file's bytes after checking its header against the input limits.</summary>
    public static RgbImage FromBytes(string field, ReadOnlySpan<byte> bytes)
    {
        int width, height;
        string format;
        try
        {
            (width, height, format) = ImageCodec.Probe(bytes);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException(field, $"{field} is not a readable image: {e.Message}");
        }
        if (width > ApiLimits.MaxInputSide || height > ApiLimits.MaxInputSide || (long)width * height > ApiLimits.MaxInputPixels)
        {
            throw new InvalidRequestException(field,
                $"{field} is a {width}x{height} {format} image; input images may have at most {ApiLimits.MaxInputPixels} pixels and {ApiLimits.MaxInputSide} pixels per side.");
        }
        try
        {
            return ImageCodec.Decode(bytes, ApiLimits.MaxInputPixels, ApiLimits.MaxInputSide);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException(field, $"{field} could not be decoded: {e.Message}");
        }
    }
}

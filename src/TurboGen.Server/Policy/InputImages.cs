using System.Security.Cryptography;
using TurboGen.Imaging;

namespace TurboGen.Server.Policy;

/// <summary>
/// The one decoder of client images (base64, data URLs or multipart files) for every front end. Everything is checked
/// before pixels are decoded: base64 validity, then the header (<see cref="ImageCodec.Probe"/>) for format and
/// dimensions against <see cref="RequestLimits.MaxInputPixels"/> / <see cref="RequestLimits.MaxInputSide"/>. URLs and
/// file paths are refused: a request never makes the server read a file or fetch a URL. Every failure is an
/// <see cref="InvalidRequestException"/> naming the request field.
/// </summary>
public static class InputImages
{
    /// <summary>Decodes base64 image data, optionally as a data URL (<c>data:image/png;base64,...</c>).</summary>
    public static RgbImage FromBase64(string field, string? text) => FromBytes(field, Base64Bytes(field, text));

    /// <summary>The bytes of base64 image data or a base64 data URL (not yet decoded as an image).</summary>
    public static byte[] Base64Bytes(string field, string? text)
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
        try
        {
            return Convert.FromBase64String(data);
        }
        catch (FormatException)
        {
            throw new InvalidRequestException(field, $"{field} is not valid base64.");
        }
    }

    /// <summary>Decodes an image file's bytes after checking its header against the input limits.</summary>
    public static RgbImage FromBytes(string field, ReadOnlySpan<byte> bytes)
    {
        CheckHeader(field, bytes);
        try
        {
            return ImageCodec.Decode(bytes, RequestLimits.MaxInputPixels, RequestLimits.MaxInputSide);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException(field, $"{field} could not be decoded: {e.Message}");
        }
    }

    /// <summary>The alpha channel of an image file's bytes (255 everywhere without alpha), after the same header checks as <see cref="FromBytes"/>.</summary>
    public static (byte[] Alpha, int Width, int Height) AlphaFromBytes(string field, ReadOnlySpan<byte> bytes)
    {
        CheckHeader(field, bytes);
        try
        {
            return ImageCodec.DecodeAlpha(bytes, RequestLimits.MaxInputPixels, RequestLimits.MaxInputSide);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException(field, $"{field} could not be decoded: {e.Message}");
        }
    }

    /// <summary>Format and dimensions from the header, against the input limits.</summary>
    private static void CheckHeader(string field, ReadOnlySpan<byte> bytes)
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
        if (width > RequestLimits.MaxInputSide || height > RequestLimits.MaxInputSide || (long)width * height > RequestLimits.MaxInputPixels)
        {
            throw new InvalidRequestException(field,
                $"{field} is a {width}x{height} {format} image; input images may have at most {RequestLimits.MaxInputPixels} pixels and {RequestLimits.MaxInputSide} pixels per side.");
        }
    }
}

/// <summary>
/// A real-time session's memory of the last decoded sketch: the web app resends an unchanged sketch with every
/// keystroke, so the same text is decoded once. Decoding goes through <see cref="InputImages"/>. Not thread-safe
/// (one per session, used by its receive loop).
/// </summary>
public sealed class InputImageCache
{
    private string? _lastText;
    private (RgbImage Image, string Hash) _last;

    /// <summary>The decoded image and a short hash of its bytes (part of a live request's picture key).</summary>
    public (RgbImage Image, string Hash) Decode(string field, string text)
    {
        if (_lastText is not null && string.Equals(text, _lastText, StringComparison.Ordinal)) return _last;
        byte[] bytes = InputImages.Base64Bytes(field, text);
        var image = InputImages.FromBytes(field, bytes);
        _last = (image, Convert.ToHexString(SHA256.HashData(bytes), 0, 12));
        _lastText = text;
        return _last;
    }
}

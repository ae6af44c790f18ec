using SkiaSharp;

namespace TurboGen.Imaging;

/// <summary>
/// Image files ↔ <see cref="RgbImage"/>, on SkiaSharp.
/// <para>How it works: decoding first opens an <c>SKCodec</c>, which parses only the header, and rejects bad,
/// truncated, unknown or oversized input (checked against <c>maxPixels</c>/<c>maxSide</c>) before any pixel buffer
/// is allocated. The pixels are then decoded as premultiplied RGBA in sRGB (an embedded ICC profile is honoured),
/// drawn onto a white canvas through the EXIF orientation matrix (so alpha is composited over white and the
/// image comes out upright) and the alpha byte is dropped. Encoding expands RGB to opaque RGBA and lets Skia
/// write PNG/JPEG/WebP; PNG metadata is then added as text chunks by <see cref="PngText"/>, and
/// <see cref="SavePng"/> writes through a temporary file renamed into place.</para>
/// </summary>
public static class ImageCodec
{
    /// <summary>The default decode limit on width × height: 4096² (16.8 megapixels); larger images are refused before their pixels are decoded.</summary>
    public const long DefaultMaxPixels = 4096L * 4096;

    /// <summary>The default decode limit on either side: 8192 pixels.</summary>
    public const int DefaultMaxSide = 8192;

    /// <summary>Files larger than this are refused by <see cref="Load"/> before being read.</summary>
    public const long MaxFileBytes = 512L * 1024 * 1024;

    /// <summary>Decodes any format Skia knows (PNG, JPEG, WebP, GIF first frame, BMP, ICO, ...) to upright RGB over white.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> data, long maxPixels = DefaultMaxPixels, int maxSide = DefaultMaxSide)
    {
        using var upright = DecodeUpright(data, maxPixels, maxSide, SKColors.White);
        return FromBitmap(upright);
    }

    /// <summary>The alpha channel (0 transparent … 255 opaque), one byte per pixel after EXIF orientation, of any format Skia knows; 255 everywhere for formats without alpha.</summary>
    public static (byte[] Alpha, int Width, int Height) DecodeAlpha(ReadOnlySpan<byte> data, long maxPixels = DefaultMaxPixels, int maxSide = DefaultMaxSide)
    {
        using var upright = DecodeUpright(data, maxPixels, maxSide, SKColors.Transparent);
        int width = upright.Width, height = upright.Height, rowBytes = upright.RowBytes;
        ReadOnlySpan<byte> rgba = upright.GetPixelSpan();
        var alpha = new byte[width * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++) alpha[y * width + x] = rgba[y * rowBytes + 4 * x + 3];
        }
        return (alpha, width, height);
    }

    /// <summary>Decodes, checks the limits and applies the EXIF orientation, drawing over <paramref name="background"/>.</summary>
    private static SKBitmap DecodeUpright(ReadOnlySpan<byte> data, long maxPixels, int maxSide, SKColor background)
    {
        if (maxPixels <= 0 || maxSide <= 0)
        {
            throw new ArgumentException($"Decode limits must be positive (maxPixels {maxPixels}, maxSide {maxSide}).");
        }
        using SKCodec codec = OpenCodec(data);
        SKSizeI size = codec.Info.Size;
        long pixels = (long)size.Width * size.Height;
        if (size.Width > maxSide || size.Height > maxSide || pixels > maxPixels)
        {
            throw new ImageDecodeException(
                $"Image is {size.Width}x{size.Height} ({pixels} pixels); the limit is {maxPixels} pixels and {maxSide} pixels per side.");
        }

        var decodeInfo = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        using var decoded = new SKBitmap(decodeInfo);
        SKCodecResult result = codec.GetPixels(decodeInfo, decoded.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new ImageDecodeException(result == SKCodecResult.IncompleteInput
                ? $"Truncated {FormatName(codec)} image: the pixel data ends early."
                : $"Could not decode the {FormatName(codec)} image ({result}).");
        }

        SKEncodedOrigin origin = codec.EncodedOrigin;
        var (width, height) = OrientedSize(size.Width, size.Height, origin);
        var uprightInfo = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul, SKColorSpace.CreateSrgb());
        var upright = new SKBitmap(uprightInfo);
        using (var canvas = new SKCanvas(upright))
        {
            canvas.Clear(background);
            canvas.SetMatrix(OrientationMatrix(origin, size.Width, size.Height));
            canvas.DrawBitmap(decoded, 0, 0);
        }
        return upright;
    }

    /// <summary>Reads and decodes an image file; every failure is an <see cref="ImageDecodeException"/> naming the path.</summary>
    public static RgbImage Load(string path, long maxPixels = DefaultMaxPixels, int maxSide = DefaultMaxSide)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                throw new ImageDecodeException($"Image file not found: {path}");
            }
            if (file.Length > MaxFileBytes)
            {
                throw new ImageDecodeException($"Image file {path} is {file.Length} bytes; the limit is {MaxFileBytes}.");
            }
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ImageDecodeException($"Cannot read image file {path}: {e.Message}", e);
        }
        try
        {
            return Decode(data, maxPixels, maxSide);
        }
        catch (ImageDecodeException e)
        {
            throw new ImageDecodeException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Width, height (after EXIF orientation) and format name ("png", "jpeg", "webp", ...) from the header alone.</summary>
    public static (int Width, int Height, string Format) Probe(ReadOnlySpan<byte> data)
    {
        using SKCodec codec = OpenCodec(data);
        var (width, height) = OrientedSize(codec.Info.Width, codec.Info.Height, codec.EncodedOrigin);
        return (width, height, FormatName(codec));
    }

    /// <summary>Lossless PNG; with <paramref name="metadata"/>, adds the "parameters" and "turbogen" text chunks.</summary>
    public static byte[] EncodePng(RgbImage image, ImageMetadata? metadata = null)
    {
        byte[] png = Encode(image, pixmap => pixmap.Encode(SKPngEncoderOptions.Default), "PNG");
        if (metadata is null)
        {
            return png;
        }
        png = PngText.AddTextChunks(png, new Dictionary<string, string> { [PngText.ParametersKey] = metadata.Parameters });
        return PngText.AddTextChunks(png, new Dictionary<string, string> { [PngText.TurboGenKey] = metadata.Json }, alwaysInternational: true);
    }

    /// <summary>Baseline JPEG, 4:2:0 chroma, at <paramref name="quality"/> 1–100.</summary>
    public static byte[] EncodeJpeg(RgbImage image, int quality = 90)
    {
        CheckQuality(quality);
        var options = new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore);
        return Encode(image, pixmap => pixmap.Encode(options), "JPEG");
    }

    /// <summary>Lossy WebP at <paramref name="quality"/> 1–100.</summary>
    public static byte[] EncodeWebp(RgbImage image, int quality = 90)
    {
        CheckQuality(quality);
        var options = new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, quality);
        return Encode(image, pixmap => pixmap.Encode(options), "WebP");
    }

    /// <summary>
    /// Writes a PNG to a temporary file in the destination folder (created if missing), flushes it and renames it
    /// over <paramref name="path"/>, so readers never see a half-written file. The temporary file is removed on failure.
    /// </summary>
    public static void SavePng(RgbImage image, string path, ImageMetadata? metadata = null) => SaveEncoded(EncodePng(image, metadata), path);

    /// <summary>Writes already encoded image bytes (e.g. a PNG from <see cref="EncodePng"/>) to <paramref name="path"/> as <see cref="SavePng"/> does: atomically.</summary>
    public static void SaveEncoded(ReadOnlySpan<byte> bytes, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}{TemporarySuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private const string TemporarySuffix = ".tmp";

    /// <summary>
    /// True for the name of a temporary file <see cref="SavePng"/> writes (<c>.{name}.{32 hex}.tmp</c>, beside the target).
    /// One that is not locked by a running save was left by a killed process (see the server's start-up clean-up).
    /// </summary>
    public static bool IsTemporaryFileName(string fileName) =>
        fileName.Length >= 2 + 33 + TemporarySuffix.Length && fileName[0] == '.' && fileName.EndsWith(TemporarySuffix, StringComparison.Ordinal)
        && fileName[^(33 + TemporarySuffix.Length)] == '.' && fileName.AsSpan(fileName.Length - 32 - TemporarySuffix.Length, 32).ContainsAnyExcept("0123456789abcdef") is false;

    private static SKCodec OpenCodec(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new ImageDecodeException("The image data is empty.");
        }
        var stream = new SKMemoryStream(SKData.CreateCopy(data));
        SKCodec? codec = SKCodec.Create(stream, out SKCodecResult result);
        if (codec is null || result != SKCodecResult.Success)
        {
            codec?.Dispose();
            stream.Dispose();
            throw new ImageDecodeException(result switch
            {
                SKCodecResult.Unimplemented => "Unknown or unsupported image format.",
                SKCodecResult.IncompleteInput => "Truncated image: the data ends inside the header.",
                _ => $"Not a valid image ({result}).",
            });
        }
        return codec;
    }

    private static string FormatName(SKCodec codec) => codec.EncodedFormat.ToString().ToLowerInvariant();

    private static bool SwapsAxes(SKEncodedOrigin origin) =>
        origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    private static (int Width, int Height) OrientedSize(int width, int height, SKEncodedOrigin origin) =>
        SwapsAxes(origin) ? (height, width) : (width, height);

    /// <summary>Maps stored pixel coordinates (w×h) to upright display coordinates, per the EXIF orientation tag.</summary>
    private static SKMatrix OrientationMatrix(SKEncodedOrigin origin, int w, int h) => origin switch
    {
        // SKMatrix(scaleX, skewX, transX, skewY, scaleY, transY, 0, 0, 1): x' = sx·x + kx·y + tx, y' = ky·x + sy·y + ty
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),     // mirror horizontally
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1), // rotate 180°
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),   // mirror vertically
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),       // transpose
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),     // rotate 90° clockwise
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1), // transverse
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),   // rotate 90° counter-clockwise
        _ => SKMatrix.Identity,
    };

    /// <summary>Copies an opaque Rgba8888 bitmap into an RGB image (the alpha byte is dropped).</summary>
    internal static RgbImage FromBitmap(SKBitmap bitmap)
    {
        int width = bitmap.Width;
        int height = bitmap.Height;
        ReadOnlySpan<byte> rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = rgba.Slice(y * rowBytes, width * 4);
            Span<byte> target = rgb.AsSpan(y * width * 3, width * 3);
            for (int x = 0; x < width; x++)
            {
                target[3 * x] = row[4 * x];
                target[3 * x + 1] = row[4 * x + 1];
                target[3 * x + 2] = row[4 * x + 2];
            }
        }
        return new RgbImage(width, height, rgb);
    }

    /// <summary>Wraps an RGB image as an opaque Rgba8888 bitmap (sRGB).</summary>
    internal static SKBitmap ToBitmap(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque, SKColorSpace.CreateSrgb());
        var bitmap = new SKBitmap(info);
        Span<byte> rgba = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        byte[] rgb = image.Pixels;
        for (int y = 0; y < image.Height; y++)
        {
            Span<byte> row = rgba.Slice(y * rowBytes, image.Width * 4);
            int source = y * image.Width * 3;
            for (int x = 0; x < image.Width; x++)
            {
                row[4 * x] = rgb[source + 3 * x];
                row[4 * x + 1] = rgb[source + 3 * x + 1];
                row[4 * x + 2] = rgb[source + 3 * x + 2];
                row[4 * x + 3] = 255;
            }
        }
        return bitmap;
    }

    private static byte[] Encode(RgbImage image, Func<SKPixmap, SKData?> encode, string format)
    {
        using SKBitmap bitmap = ToBitmap(image);
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData? data = encode(pixmap);
        if (data is null)
        {
            throw new TurboGenException($"SkiaSharp could not encode a {image.Width}x{image.Height} image as {format}.");
        }
        return data.ToArray();
    }

    private static void CheckQuality(int quality)
    {
        if (quality is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(quality), quality, "Quality must be between 1 and 100.");
        }
    }
}

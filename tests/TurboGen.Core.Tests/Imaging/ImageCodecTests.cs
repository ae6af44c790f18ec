using System.Buffers.Binary;
using SkiaSharp;
using TurboGen.Imaging;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Imaging;

public class ImageCodecTests
{
    [Fact]
    public void Png_RoundTripsPixelsExactly()
    {
        RgbImage image = TestImages.Noise(61, 43, seed: 1);

        byte[] png = ImageCodec.EncodePng(image);
        RgbImage back = ImageCodec.Decode(png);

        Assert.Equal((61, 43), (back.Width, back.Height));
        Assert.Equal(image.Pixels, back.Pixels);
        Assert.Equal((61, 43, "png"), ImageCodec.Probe(png));
    }

    [Fact]
    public void Png_WithMetadata_KeepsPixelsAndCarriesBothChunks()
    {
        RgbImage image = TestImages.Noise(16, 16, seed: 2);
        var metadata = new ImageMetadata("a cat\nSteps: 1, Sampler: Euler a, CFG scale: 0, Seed: 42, Size: 16x16", "{\"prompt\":\"a cat\"}");

        byte[] png = ImageCodec.EncodePng(image, metadata);

        Assert.Equal(image.Pixels, ImageCodec.Decode(png).Pixels);
        var chunks = PngText.ReadTextChunks(png);
        Assert.Equal(metadata.Parameters, chunks["parameters"]);
        Assert.Equal(metadata.Json, chunks["turbogen"]);
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public void LossyEncoders_ProduceDecodableCloseImages(string format)
    {
        RgbImage image = TestImages.Gradient(64, 48);

        byte[] encoded = format == "jpeg" ? ImageCodec.EncodeJpeg(image, 90) : ImageCodec.EncodeWebp(image, 90);
        RgbImage back = ImageCodec.Decode(encoded);

        Assert.Equal((64, 48, format), ImageCodec.Probe(encoded));
        Assert.Equal((64, 48), (back.Width, back.Height));
        double meanError = image.Pixels.Zip(back.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanError < 3, $"mean absolute error {meanError}");
    }

    [Fact]
    public void LossyEncoders_RejectBadQuality()
    {
        RgbImage image = TestImages.Gradient(8, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodec.EncodeJpeg(image, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCodec.EncodeWebp(image, 101));
    }

    [Fact]
    public void Decode_CompositesAlphaOverWhite()
    {
        var info = new SKImageInfo(3, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        byte[] rgba = [255, 0, 0, 0, /**/ 0, 0, 255, 128, /**/ 10, 20, 30, 255];
        rgba.CopyTo(bitmap.GetPixelSpan());
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData data = pixmap.Encode(SKPngEncoderOptions.Default) ?? throw new InvalidOperationException("PNG encode failed");

        RgbImage image = ImageCodec.Decode(data.AsSpan());

        Assert.Equal((255, 255, 255), TestImages.Pixel(image, 0, 0)); // fully transparent → white
        var (r, g, b) = TestImages.Pixel(image, 1, 0);                // half blue over white ≈ (127, 127, 255)
        Assert.InRange(r, 125, 129);
        Assert.InRange(g, 125, 129);
        Assert.Equal(255, b);
        Assert.Equal((10, 20, 30), TestImages.Pixel(image, 2, 0));    // opaque unchanged
    }

    [Fact]
    public void Decode_GrayscalePng_BecomesRgb()
    {
        var info = new SKImageInfo(2, 1, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        bitmap.GetPixelSpan()[0] = 17;
        bitmap.GetPixelSpan()[1] = 200;
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData data = pixmap.Encode(SKPngEncoderOptions.Default) ?? throw new InvalidOperationException("PNG encode failed");

        RgbImage image = ImageCodec.Decode(data.AsSpan());

        Assert.Equal(new byte[] { 17, 17, 17, 200, 200, 200 }, image.Pixels);
    }

    [Fact]
    public void Decode_AppliesExifOrientation()
    {
        // 32×16 JPEG, left half red, right half blue, tagged orientation 6 (rotate 90° clockwise to display).
        RgbImage image = TestImages.Halves(32, 16, (255, 0, 0), (0, 0, 255));
        byte[] jpeg = WithExifOrientation(ImageCodec.EncodeJpeg(image, 95), orientation: 6);

        RgbImage upright = ImageCodec.Decode(jpeg);

        Assert.Equal((16, 32, "jpeg"), ImageCodec.Probe(jpeg));
        Assert.Equal((16, 32), (upright.Width, upright.Height));
        var top = TestImages.Pixel(upright, 8, 4);
        var bottom = TestImages.Pixel(upright, 8, 28);
        Assert.True(top.R > 200 && top.B < 60, $"top {top}");
        Assert.True(bottom.B > 200 && bottom.R < 60, $"bottom {bottom}");
    }

    [Fact]
    public void Decode_RejectsRandomBytes()
    {
        var bytes = new byte[2048];
        new Random(3).NextBytes(bytes);

        var error = Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(bytes));
        Assert.Contains("format", error.Message);
        Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode([]));
        Assert.Throws<ImageDecodeException>(() => ImageCodec.Probe(bytes));
    }

    [Fact]
    public void Decode_RejectsTruncatedPng()
    {
        byte[] png = ImageCodec.EncodePng(TestImages.Noise(64, 64, seed: 4));

        var error = Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(png.AsSpan(0, png.Length / 2)));
        Assert.Contains("Truncated", error.Message);
        Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(png.AsSpan(0, 20)));
    }

    [Fact]
    public void Decode_RejectsHugeDeclaredSizeFromHeaderAlone()
    {
        // A valid PNG header declaring 100000×100000 RGB (30 GB of pixels) followed by a tiny IDAT.
        byte[] png = [.. TestImages.PngSignature, .. TestImages.Ihdr(100_000, 100_000), .. TestImages.Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), .. TestImages.Chunk("IEND", [])];

        long before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(png));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Contains("100000x100000", error.Message);
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
        Assert.Equal((100_000, 100_000, "png"), ImageCodec.Probe(png));
    }

    [Fact]
    public void Decode_EnforcesPixelAndSideLimits()
    {
        byte[] png = ImageCodec.EncodePng(TestImages.Noise(100, 50, seed: 5));

        Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(png, maxPixels: 4999));
        Assert.Throws<ImageDecodeException>(() => ImageCodec.Decode(png, maxSide: 99));
        Assert.Equal(100, ImageCodec.Decode(png, maxPixels: 5000, maxSide: 100).Width);
    }

    [Fact]
    public void Load_MissingFile_NamesThePath()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "nope.png");

        var error = Assert.Throws<ImageDecodeException>(() => ImageCodec.Load(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_CorruptFile_NamesThePath()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "bad.png");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);

        var error = Assert.Throws<ImageDecodeException>(() => ImageCodec.Load(path));

        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void SavePng_WritesOnlyTheTargetFile_AndOverwrites()
    {
        string folder = TestPaths.NewTempDir();
        string path = Path.Combine(folder, "sub", "out.png");
        RgbImage first = TestImages.Noise(20, 10, seed: 6);
        RgbImage second = TestImages.Noise(20, 10, seed: 7);
        var metadata = new ImageMetadata("prompt\nSteps: 1, Sampler: Euler a, CFG scale: 0", "{}");

        ImageCodec.SavePng(first, path);
        ImageCodec.SavePng(second, path, metadata);

        Assert.Equal([path], Directory.GetFiles(Path.Combine(folder, "sub")));
        Assert.Equal(second.Pixels, ImageCodec.Load(path).Pixels);
        Assert.Equal("{}", PngText.ReadTextChunks(File.ReadAllBytes(path))["turbogen"]);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Inserts an APP1 Exif segment (big-endian TIFF, one IFD entry: Orientation) right after SOI.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        Assert.Equal([0xFF, 0xD8], jpeg[..2]);
        byte[] tiff = new byte[26];
        "MM"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(4), 8);       // first IFD offset
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(8), 1);       // one entry
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(10), 0x0112); // Orientation
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(12), 3);      // SHORT
        BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(14), 1);      // count
        BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(18), orientation);
        // bytes 22..25: next IFD offset 0
        byte[] payload = [.. "Exif\0\0"u8, .. tiff];
        byte[] segment = [0xFF, 0xE1, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2), .. payload];
        return [0xFF, 0xD8, .. segment, .. jpeg[2..]];
    }
}

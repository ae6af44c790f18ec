using System.Buffers.Binary;
using System.Text;
using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

/// <summary>Small synthetic images and raw PNG chunk builders for the imaging tests.</summary>
internal static class TestImages
{
    public static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static RgbImage Noise(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Smooth colour ramps, which lossy codecs reproduce closely.</summary>
    public static RgbImage Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = 3 * (y * width + x);
                pixels[i] = (byte)(255 * x / (width - 1));
                pixels[i + 1] = (byte)(255 * y / (height - 1));
                pixels[i + 2] = 128;
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Left half <paramref name="left"/>, right half <paramref name="right"/>.</summary>
    public static RgbImage Halves(int width, int height, (byte R, byte G, byte B) left, (byte R, byte G, byte B) right)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var c = x < width / 2 ? left : right;
                int i = 3 * (y * width + x);
                (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.R, c.G, c.B);
            }
        }
        return new RgbImage(width, height, pixels);
    }

    public static (byte R, byte G, byte B) Pixel(RgbImage image, int x, int y)
    {
        int i = 3 * (y * image.Width + x);
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }

    /// <summary>One PNG chunk: length, type, data, CRC-32 over type and data.</summary>
    public static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4, 4));
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    /// <summary>An IHDR chunk for 8-bit RGB, no interlace.</summary>
    public static byte[] Ihdr(uint width, uint height)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(data, width);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), height);
        data[8] = 8; // bit depth
        data[9] = 2; // colour type RGB
        return Chunk("IHDR", data);
    }

    /// <summary>Inserts raw chunk bytes just before the IEND chunk (the last 12 bytes of a Skia PNG).</summary>
    public static byte[] InsertBeforeIend(byte[] png, params byte[][] chunks)
    {
        Assert.Equal("IEND", Encoding.ASCII.GetString(png, png.Length - 8, 4));
        return [.. png.AsSpan(0, png.Length - 12), .. chunks.SelectMany(c => c), .. png.AsSpan(png.Length - 12)];
    }
}

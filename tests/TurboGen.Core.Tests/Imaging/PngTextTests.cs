using System.IO.Compression;
using System.Text;
using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

public class PngTextTests
{
    private static readonly byte[] Png = ImageCodec.EncodePng(TestImages.Noise(8, 8, seed: 11));

    [Fact]
    public void Crc32_MatchesKnownValues()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0xAE426082u, Crc32.Compute("IEND"u8));
    }

    [Fact]
    public void AddThenRead_RoundTripsLatin1AndNonLatin1Text()
    {
        const string parameters = "a cat, café\nNegative prompt: blurry\nSteps: 1, Sampler: Euler a";
        const string json = "{\"prompt\":\"猫 in the rain 🐱\"}";

        byte[] png = PngText.AddTextChunks(Png, new Dictionary<string, string> { ["parameters"] = parameters, ["turbogen"] = json });
        var chunks = PngText.ReadTextChunks(png);

        Assert.Equal(2, chunks.Count);
        Assert.Equal(parameters, chunks["parameters"]);
        Assert.Equal(json, chunks["turbogen"]);
        Assert.True(ContainsAscii(png, "tEXtparameters\0"), "Latin-1 text is tEXt");
        Assert.True(ContainsAscii(png, "iTXtturbogen\0"), "non-Latin-1 text is iTXt");
        Assert.Equal(ImageCodec.Decode(Png).Pixels, ImageCodec.Decode(png).Pixels);
    }

    [Fact]
    public void NonLatin1Prompt_InParameters_UsesITxt()
    {
        const string parameters = "ein Hund, 犬, собака\nSteps: 1, Sampler: Euler a, CFG scale: 0";

        byte[] png = PngText.AddTextChunks(Png, new Dictionary<string, string> { ["parameters"] = parameters });

        Assert.True(ContainsAscii(png, "iTXtparameters\0"));
        Assert.Equal(parameters, PngText.ReadTextChunks(png)["parameters"]);
    }

    [Fact]
    public void AlwaysInternational_WritesITxtForAsciiText()
    {
        byte[] png = PngText.AddTextChunks(Png, new Dictionary<string, string> { ["turbogen"] = "{}" }, alwaysInternational: true);

        Assert.True(ContainsAscii(png, "iTXtturbogen\0"));
        Assert.False(ContainsAscii(png, "tEXtturbogen"));
        Assert.Equal("{}", PngText.ReadTextChunks(png)["turbogen"]);
    }

    [Fact]
    public void Add_ReplacesExistingChunkWithSameKeyword()
    {
        byte[] once = PngText.AddTextChunks(Png, new Dictionary<string, string> { ["parameters"] = "old", ["other"] = "kept" });
        byte[] twice = PngText.AddTextChunks(once, new Dictionary<string, string> { ["parameters"] = "new" });

        Assert.Equal(1, CountAscii(twice, "parameters\0"));
        var chunks = PngText.ReadTextChunks(twice);
        Assert.Equal("new", chunks["parameters"]);
        Assert.Equal("kept", chunks["other"]);
        Assert.Equal("IEND", Encoding.ASCII.GetString(twice, twice.Length - 8, 4));
    }

    [Fact]
    public void Read_HandlesZTxtAndCompressedITxt_AndSkipsBadCrc()
    {
        byte[] ztxt = TestImages.Chunk("zTXt", [.. "Comment"u8, 0, 0, .. Deflate(Encoding.Latin1.GetBytes("zipped Latin-1 é"))]);
        byte[] itxt = TestImages.Chunk("iTXt", [.. "Title"u8, 0, 1, 0, .. "en"u8, 0, .. "Titel"u8, 0, .. Deflate(Encoding.UTF8.GetBytes("圧縮 title"))]);
        byte[] corrupt = TestImages.Chunk("tEXt", [.. "Broken"u8, 0, .. "text"u8]);
        corrupt[^1] ^= 0xFF;

        var chunks = PngText.ReadTextChunks(TestImages.InsertBeforeIend(Png, ztxt, itxt, corrupt));

        Assert.Equal("zipped Latin-1 é", chunks["Comment"]);
        Assert.Equal("圧縮 title", chunks["Title"]);
        Assert.False(chunks.ContainsKey("Broken"));
    }

    [Fact]
    public void Read_RejectsNonPng_AndToleratesTruncatedTail()
    {
        Assert.Throws<ImageDecodeException>(() => PngText.ReadTextChunks("GIF89a..."u8));
        byte[] png = PngText.AddTextChunks(Png, new Dictionary<string, string> { ["parameters"] = "x" });
        Assert.Equal("x", PngText.ReadTextChunks(png.AsSpan(0, png.Length - 6))["parameters"]);
        Assert.Throws<ImageDecodeException>(() => PngText.AddTextChunks(png[..^6], new Dictionary<string, string> { ["a"] = "b" }));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" lead")]
    [InlineData("with\0nul")]
    [InlineData("键")]
    public void Add_RejectsInvalidKeywords(string keyword)
    {
        Assert.Throws<ArgumentException>(() => PngText.AddTextChunks(Png, new Dictionary<string, string> { [keyword] = "v" }));
    }

    private static byte[] Deflate(byte[] data)
    {
        var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal))
        {
            zlib.Write(data);
        }
        return output.ToArray();
    }

    private static int CountAscii(byte[] haystack, string needle)
    {
        byte[] pattern = Encoding.Latin1.GetBytes(needle);
        int count = 0;
        for (int i = haystack.AsSpan().IndexOf(pattern); i >= 0;)
        {
            count++;
            int next = haystack.AsSpan(i + 1).IndexOf(pattern);
            i = next < 0 ? -1 : i + 1 + next;
        }
        return count;
    }

    private static bool ContainsAscii(byte[] haystack, string needle) => CountAscii(haystack, needle) > 0;
}

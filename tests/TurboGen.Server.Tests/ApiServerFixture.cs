using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TurboGen.Imaging;

namespace TurboGen.Server.Tests;

/// <summary>One tiny-model server shared by the tests of a class (no API key).</summary>
public sealed class ApiServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Helpers for API tests: JSON posts, small images, PNG checks.</summary>
internal static class ApiTestHelpers
{
    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> PostJsonAsync(HttpClient http, string path, string json)
    {
        var response = await http.PostAsync(path, Json(json));
        string text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body, response);
    }

    public static async Task<(int Status, JsonElement Body)> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        return ((int)response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>A gradient PNG of the given size.</summary>
    public static byte[] Png(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                pixels[i] = (byte)(x * 255 / width);
                pixels[i + 1] = (byte)(y * 255 / height);
                pixels[i + 2] = 128;
            }
        return ImageCodec.EncodePng(new RgbImage(width, height, pixels));
    }

    /// <summary>A valid PNG header claiming <paramref name="width"/>×<paramref name="height"/> with no pixel data after it.</summary>
    public static byte[] HugePngHeader(int width, int height)
    {
        byte[] png = Png(8, 8);
        // IHDR data starts at byte 16: width (4 bytes BE), height (4 bytes BE); fix the CRC after it.
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        uint crc = Crc32(png.AsSpan(12, 17));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), crc);
        return png;
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    public static (int Width, int Height, string Format) Probe(byte[] data) => ImageCodec.Probe(data);
}

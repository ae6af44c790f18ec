using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace TurboGen.Imaging;

/// <summary>
/// Reads and writes PNG text chunks (PNG spec §11.3.4). Writing inserts one chunk per entry just before IEND,
/// with a correct CRC-32, and first removes any existing text chunk with the same keyword. As Pillow (and so
/// A1111) does, a value that fits Latin-1 is written as tEXt and any other as uncompressed iTXt (UTF-8), unless
/// iTXt is asked for. Reading accepts tEXt, zTXt and iTXt (compressed or not); chunks with a bad CRC are skipped,
/// a truncated tail ends the scan, and a later chunk with the same keyword wins.
/// </summary>
public static class PngText
{
    /// <summary>Keyword of the A1111 infotext chunk.</summary>
    public const string ParametersKey = "parameters";

    /// <summary>Keyword of TurboGen's own JSON chunk.</summary>
    public const string TurboGenKey = "turbogen";

    /// <summary>Largest text a compressed chunk may inflate to (guards against zlib bombs).</summary>
    public const int MaxInflatedBytes = 16 * 1024 * 1024;

    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly Encoding Latin1 = Encoding.Latin1;
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    /// <summary>
    /// Returns a copy of <paramref name="png"/> with the given keyword → text chunks added before IEND.
    /// With <paramref name="alwaysInternational"/> every chunk is iTXt (UTF-8); otherwise tEXt is used where the
    /// value fits Latin-1. Keywords must be 1–79 printable Latin-1 characters without leading/trailing spaces.
    /// </summary>
    public static byte[] AddTextChunks(byte[] png, IReadOnlyDictionary<string, string> chunks, bool alwaysInternational = false)
    {
        ArgumentNullException.ThrowIfNull(png);
        ArgumentNullException.ThrowIfNull(chunks);
        foreach (var (key, value) in chunks)
        {
            ValidateKeyword(key);
            ArgumentNullException.ThrowIfNull(value);
            if (value.Contains('\0'))
            {
                throw new ArgumentException($"PNG text for '{key}' contains a NUL character.", nameof(chunks));
            }
        }

        var output = new MemoryStream(png.Length + 256);
        output.Write(Signature);
        bool sawEnd = false;
        foreach (var chunk in EnumerateChunks(png, requireComplete: true))
        {
            if (chunk.Type == "IEND")
            {
                foreach (var (key, value) in chunks)
                {
                    bool latin1 = !alwaysInternational && value.All(c => c <= '\u00FF');
                    if (latin1)
                    {
                        WriteChunk(output, "tEXt", [.. Latin1.GetBytes(key), 0, .. Latin1.GetBytes(value)]);
                    }
                    else
                    {
                        // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, UTF-8 text
                        WriteChunk(output, "iTXt", [.. Latin1.GetBytes(key), 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(value)]);
                    }
                }
                output.Write(png, chunk.Offset, chunk.TotalLength);
                sawEnd = true;
                break;
            }
            if (IsTextChunk(chunk.Type) && TryReadKeyword(chunk.Data(png), out string existing) && chunks.ContainsKey(existing))
            {
                continue;
            }
            output.Write(png, chunk.Offset, chunk.TotalLength);
        }
        if (!sawEnd)
        {
            throw new ImageDecodeException("The PNG has no IEND chunk.");
        }
        return output.ToArray();
    }

    /// <summary>All text chunks of a PNG as keyword → text. Throws <see cref="ImageDecodeException"/> if the data is not a PNG.</summary>
    public static IReadOnlyDictionary<string, string> ReadTextChunks(ReadOnlySpan<byte> png)
    {
        byte[] copy = png.ToArray();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var chunk in EnumerateChunks(copy, requireComplete: false))
        {
            if (chunk.Type == "IEND")
            {
                break;
            }
            if (!IsTextChunk(chunk.Type) || !chunk.CrcMatches(copy))
            {
                continue;
            }
            if (TryDecodeText(chunk.Type, chunk.Data(copy), out string key, out string text))
            {
                result[key] = text;
            }
        }
        return result;
    }

    private static bool IsTextChunk(string type) => type is "tEXt" or "iTXt" or "zTXt";

    private static void ValidateKeyword(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        bool ok = key.Length is >= 1 and <= 79
            && key[0] != ' ' && key[^1] != ' '
            && key.All(c => c is (>= ' ' and <= '~') or (>= '\u00A1' and <= '\u00FF'));
        if (!ok)
        {
            throw new ArgumentException($"'{key}' is not a valid PNG text keyword (1-79 printable Latin-1 characters, no leading/trailing space).");
        }
    }

    private static bool TryReadKeyword(ReadOnlySpan<byte> data, out string keyword)
    {
        int nul = data.IndexOf((byte)0);
        keyword = nul > 0 ? Latin1.GetString(data[..nul]) : "";
        return nul > 0;
    }

    private static bool TryDecodeText(string type, ReadOnlySpan<byte> data, out string key, out string text)
    {
        text = "";
        if (!TryReadKeyword(data, out key))
        {
            return false;
        }
        ReadOnlySpan<byte> rest = data[(key.Length + 1)..];
        try
        {
            switch (type)
            {
                case "tEXt":
                    text = Latin1.GetString(rest);
                    return true;
                case "zTXt":
                    if (rest.Length < 1 || rest[0] != 0)
                    {
                        return false;
                    }
                    text = Latin1.GetString(Inflate(rest[1..]));
                    return true;
                default: // iTXt
                    if (rest.Length < 2)
                    {
                        return false;
                    }
                    bool compressed = rest[0] != 0;
                    if (compressed && rest[1] != 0)
                    {
                        return false;
                    }
                    rest = rest[2..];
                    int languageEnd = rest.IndexOf((byte)0);
                    if (languageEnd < 0)
                    {
                        return false;
                    }
                    rest = rest[(languageEnd + 1)..];
                    int translatedEnd = rest.IndexOf((byte)0);
                    if (translatedEnd < 0)
                    {
                        return false;
                    }
                    rest = rest[(translatedEnd + 1)..];
                    text = StrictUtf8.GetString(compressed ? Inflate(rest) : rest);
                    return true;
            }
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException)
        {
            return false; // corrupt compressed stream or invalid UTF-8: skip this chunk
        }
    }

    private static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        var output = new MemoryStream();
        byte[] buffer = new byte[16384];
        int read;
        while ((read = zlib.Read(buffer)) > 0)
        {
            if (output.Length + read > MaxInflatedBytes)
            {
                throw new InvalidDataException("compressed text chunk inflates past the limit");
            }
            output.Write(buffer, 0, read);
        }
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, header[4..]);
        uint crc = Crc32.Update(0xFFFFFFFFu, header[4..]);
        crc = Crc32.Update(crc, data) ^ 0xFFFFFFFFu;
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(trailer, crc);
        output.Write(header);
        output.Write(data);
        output.Write(trailer);
    }

    /// <summary>One chunk's position inside the PNG byte array.</summary>
    private readonly record struct Chunk(int Offset, int DataLength, string Type)
    {
        public int TotalLength => DataLength + 12;

        public ReadOnlySpan<byte> Data(byte[] png) => png.AsSpan(Offset + 8, DataLength);

        public bool CrcMatches(byte[] png)
        {
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(Offset + 8 + DataLength, 4));
            return Crc32.Compute(png.AsSpan(Offset + 4, DataLength + 4)) == stored;
        }
    }

    /// <summary>
    /// Walks the chunks after the signature. With <paramref name="requireComplete"/> a truncated chunk throws;
    /// without it the walk simply stops there.
    /// </summary>
    private static IEnumerable<Chunk> EnumerateChunks(byte[] png, bool requireComplete)
    {
        if (png.Length < Signature.Length || !png.AsSpan(0, Signature.Length).SequenceEqual(Signature))
        {
            throw new ImageDecodeException("Not a PNG file (bad signature).");
        }
        int offset = Signature.Length;
        while (offset < png.Length)
        {
            if (png.Length - offset < 12)
            {
                if (requireComplete)
                {
                    throw new ImageDecodeException($"Truncated PNG: incomplete chunk header at byte {offset}.");
                }
                yield break;
            }
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset, 4));
            if (length > int.MaxValue || length > (uint)(png.Length - offset - 12))
            {
                if (requireComplete)
                {
                    throw new ImageDecodeException($"Truncated PNG: chunk at byte {offset} declares {length} bytes past the end of the data.");
                }
                yield break;
            }
            string type = Latin1.GetString(png, offset + 4, 4);
            yield return new Chunk(offset, (int)length, type);
            offset += (int)length + 12;
        }
    }
}

using System.Buffers.Binary;
using System.Text.Json;

namespace TurboGen.Server.Realtime.Protocol;

/// <summary>
/// The binary frame message: a 4-byte big-endian header length, the UTF-8 JSON <see cref="FrameHeader"/>, then the
/// image bytes (JPEG or WebP). The server encodes, clients (the web app, the .NET client, the tests) decode.
/// </summary>
public static class FrameCodec
{
    public static byte[] Encode(FrameHeader header, ReadOnlySpan<byte> image)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, RealtimeJson.Default.FrameHeader);
        var message = new byte[4 + json.Length + image.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, json.Length);
        json.CopyTo(message, 4);
        image.CopyTo(message.AsSpan(4 + json.Length));
        return message;
    }

    public static (FrameHeader Header, byte[] Image) Decode(ReadOnlySpan<byte> message)
    {
        if (message.Length < 4) throw new InvalidDataException("Frame message shorter than its length prefix.");
        int length = BinaryPrimitives.ReadInt32BigEndian(message);
        if (length < 0 || length > message.Length - 4) throw new InvalidDataException($"Frame header length {length} exceeds the message.");
        var header = JsonSerializer.Deserialize(message.Slice(4, length), RealtimeJson.Default.FrameHeader) ?? throw new InvalidDataException("Empty frame header.");
        return (header, message[(4 + length)..].ToArray());
    }
}

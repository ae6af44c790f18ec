using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Styles;

namespace TurboGen.Server.Realtime;

/// <summary>
/// The real-time WebSocket protocol (<c>/ws</c>, one socket = one session).
/// <para>Client → server, text JSON, sent on every change:
/// <c>{"type":"generate"|"variants", "requestId":17, "prompt":"…", "negative":"…", "seed":42, "steps":1..4,
/// "width":512, "height":512, "style":"cinematic", "strength":0.5, "image":"data:image/png;base64,…",
/// "live":true, "refine":false, "format":"jpeg"|"webp", "count":4}</c>. Only <c>requestId</c> is required and it
/// must increase. The server keeps only the newest wanted request (latest wins).</para>
/// <para>Server → client: frames as binary messages, <c>[4-byte big-endian header length][UTF-8 JSON header][JPEG/WebP
/// bytes]</c> with header <c>{"type":"frame","requestId","seed","width","height","kind":"live"|"refined"|"variant",
/// "index","format","file","timings":{"stages":{…},"modelMs","onnxMs","queueMs","encodeMs"},"elapsedMs"}</c>; and text
/// JSON: <c>{"type":"hello",…}</c>, <c>{"type":"error","requestId","message","field"}</c>,
/// <c>{"type":"busy","requestId","retryAfterMs"}</c>, <c>{"type":"status","state":"loading"|"ready"|"failed"}</c>.</para>
/// </summary>
public static class RealtimeProtocol
{
    public const int MaxSteps = 4, MaxVariants = 8, MaxPromptChars = 4000;

    /// <summary>Encoding quality of the frames (JPEG and WebP).</summary>
    public const int JpegQuality = 88, WebpQuality = 85;

    /// <summary>Largest client message accepted (a 2048² PNG sketch in base64 fits).</summary>
    public const int MaxMessageBytes = 24 * 1024 * 1024;

    /// <summary>Init images larger than this (pixels) are refused before decoding.</summary>
    public const long MaxImagePixels = 4096L * 4096;

    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>
    /// Parses and validates one client message. Every problem is an <see cref="InvalidRequestException"/> naming the
    /// field (JSON syntax errors name "json"). <paramref name="imageCache"/> avoids decoding the same sketch twice.
    /// </summary>
    public static RealtimeRequest Parse(string text, int defaultSize, StylePresets styles, ImageCache? imageCache = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException("json", $"The message is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidRequestException("json", "The message must be a JSON object.");
            string type = String(root, "type") ?? "generate";
            var kind = type switch
            {
                "generate" => RealtimeRequestKind.Generate,
                "variants" => RealtimeRequestKind.Variants,
                _ => throw new InvalidRequestException("type", $"Unknown message type '{type}' (expected \"generate\" or \"variants\")."),
            };
            long requestId = Integer(root, "requestId") ?? throw new InvalidRequestException("requestId", "requestId is required.");
            if (requestId < 0) throw new InvalidRequestException("requestId", "requestId must be ≥ 0.");
            string prompt = String(root, "prompt") ?? "";
            if (prompt.Length > MaxPromptChars) throw new InvalidRequestException("prompt", $"The prompt is longer than {MaxPromptChars} characters.");
            string negative = String(root, "negative") ?? "";
            if (negative.Length > MaxPromptChars) throw new InvalidRequestException("negative", $"The negative prompt is longer than {MaxPromptChars} characters.");
            long? seed = Integer(root, "seed");
            if (seed is < 0 or > uint.MaxValue) throw new InvalidRequestException("seed", $"seed must be between 0 and {uint.MaxValue} (got {seed}).");
            int steps = (int)(Integer(root, "steps") ?? 1);
            if (steps is < 1 or > MaxSteps) throw new InvalidRequestException("steps", $"steps must be between 1 and {MaxSteps} for real-time generation (got {steps}).");
            int? width = (int?)Integer(root, "width"), height = (int?)Integer(root, "height");
            string? style = String(root, "style");
            if (!StylePresets.IsNone(style)) styles.Find(style!);
            float strength = (float)(Number(root, "strength") ?? 0.5);
            string format = String(root, "format") ?? "jpeg";
            if (format is not ("jpeg" or "webp")) throw new InvalidRequestException("format", $"format must be \"jpeg\" or \"webp\" (got \"{format}\").");
            int count = (int)(Integer(root, "count") ?? 4);
            if (kind == RealtimeRequestKind.Variants && count is < 1 or > MaxVariants)
                throw new InvalidRequestException("count", $"count must be between 1 and {MaxVariants} (got {count}).");

            RgbImage? image = null;
            string imageHash = "";
            if (String(root, "image") is { Length: > 0 } imageText)
            {
                (image, imageHash) = (imageCache ?? new ImageCache()).Decode(imageText);
            }
            var request = new RealtimeRequest
            {
                Kind = kind, RequestId = requestId, Prompt = prompt, Negative = negative, Seed = seed, Steps = steps,
                Width = width, Height = height, Style = StylePresets.IsNone(style) ? null : style, Strength = strength,
                Image = image, ImageHash = imageHash, Live = Bool(root, "live") ?? true, Refine = Bool(root, "refine") ?? false,
                Format = format, Count = count,
            };
            ToGenerationRequest(request, styles, tinyVae: false).Validate(defaultSize);
            return request;
        }
    }

    /// <summary>The engine request for a session request (style applied; variants become a batch).</summary>
    public static GenerationRequest ToGenerationRequest(RealtimeRequest r, StylePresets styles, bool tinyVae)
    {
        var (prompt, negative) = styles.Apply(r.Style, r.Prompt, r.Negative);
        return new GenerationRequest
        {
            Prompt = prompt, NegativePrompt = negative, Seed = r.Seed, Steps = r.Steps, Width = r.Width, Height = r.Height,
            InitImage = r.Image, Strength = r.Strength, UseTinyVae = tinyVae,
            BatchSize = r.Kind == RealtimeRequestKind.Variants ? r.Count : 1,
        };
    }

    /// <summary>Builds a binary frame message: 4-byte big-endian header length, UTF-8 JSON header, image bytes.</summary>
    public static byte[] EncodeFrame(FrameHeader header, ReadOnlySpan<byte> image)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        var message = new byte[4 + json.Length + image.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, json.Length);
        json.CopyTo(message, 4);
        image.CopyTo(message.AsSpan(4 + json.Length));
        return message;
    }

    /// <summary>Splits a binary frame message into its header and image bytes (clients, tests and the benchmark use it).</summary>
    public static (FrameHeader Header, byte[] Image) DecodeFrame(ReadOnlySpan<byte> message)
    {
        if (message.Length < 4) throw new InvalidDataException("Frame message shorter than its length prefix.");
        int length = BinaryPrimitives.ReadInt32BigEndian(message);
        if (length < 0 || length > message.Length - 4) throw new InvalidDataException($"Frame header length {length} exceeds the message.");
        var header = JsonSerializer.Deserialize<FrameHeader>(message.Slice(4, length), Json) ?? throw new InvalidDataException("Empty frame header.");
        return (header, message[(4 + length)..].ToArray());
    }

    private static JsonElement? Get(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static string? String(JsonElement root, string name) => Get(root, name) is not { } v ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new InvalidRequestException(name, $"{name} must be a string.");

    private static long? Integer(JsonElement root, string name) => Get(root, name) is not { } v ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l) ? l
        : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 1e15 ? (long)d
        : throw new InvalidRequestException(name, $"{name} must be an integer.");

    private static double? Number(JsonElement root, string name) => Get(root, name) is not { } v ? null
        : v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new InvalidRequestException(name, $"{name} must be a number.");

    private static bool? Bool(JsonElement root, string name) => Get(root, name) is not { } v ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw new InvalidRequestException(name, $"{name} must be true or false.");
}

/// <summary>Decodes init images sent as base64 / data URLs, remembering the last one (a sketch is resent unchanged often).</summary>
public sealed class ImageCache
{
    private string? _lastText;
    private (RgbImage Image, string Hash) _last;

    public (RgbImage Image, string Hash) Decode(string text)
    {
        if (_lastText is not null && string.Equals(text, _lastText, StringComparison.Ordinal)) return _last;
        string payload = text;
        if (text.StartsWith("data:", StringComparison.Ordinal))
        {
            int comma = text.IndexOf(',');
            if (comma < 0 || !text.AsSpan(0, comma).EndsWith(";base64", StringComparison.Ordinal))
                throw new InvalidRequestException("image", "image must be base64 or a base64 data URL (data:image/png;base64,…).");
            payload = text[(comma + 1)..];
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(payload);
        }
        catch (FormatException)
        {
            throw new InvalidRequestException("image", "image is not valid base64.");
        }
        RgbImage image;
        try
        {
            image = ImageCodec.Decode(bytes, RealtimeProtocol.MaxImagePixels);
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidRequestException("image", $"image is not a readable PNG/JPEG/WebP image: {e.Message}");
        }
        _last = (image, Convert.ToHexString(SHA256.HashData(bytes), 0, 12));
        _lastText = text;
        return _last;
    }
}

/// <summary>The JSON header of a binary frame message.</summary>
public sealed record FrameHeader
{
    public string Type { get; init; } = "frame";
    public long RequestId { get; init; }
    public long Seed { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }

    /// <summary>"live" (tiny VAE, while typing), "refined" (full VAE, kept) or "variant".</summary>
    public string Kind { get; init; } = "live";

    /// <summary>Variants: the position in the grid.</summary>
    public int? Index { get; init; }

    public string Format { get; init; } = "jpeg";

    /// <summary>Refined frames: the saved PNG's name (<c>GET /api/history/{file}</c>).</summary>
    public string? File { get; init; }

    public bool ImageToImage { get; init; }
    public bool PromptTruncated { get; init; }
    public FrameTimings Timings { get; init; } = new();

    /// <summary>From receiving the request to sending this frame, on the server.</summary>
    public double ElapsedMs { get; init; }
}

/// <summary>Where a frame's time went: the model's stages, waiting in the queue, and image encoding.</summary>
public sealed record FrameTimings
{
    public Dictionary<string, double> Stages { get; init; } = [];

    /// <summary>Sum of the model stages (tokenize, encode, unet steps, decode).</summary>
    public double ModelMs { get; init; }

    /// <summary>Part of <see cref="ModelMs"/> inside ONNX Runtime.</summary>
    public double OnnxMs { get; init; }

    /// <summary>From submitting the job to the model worker starting it.</summary>
    public double QueueMs { get; init; }

    /// <summary>JPEG/WebP encoding.</summary>
    public double EncodeMs { get; init; }
}

using System.Globalization;
using System.Text.Json;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Server.Realtime;

/// <summary>What a client message asks for: a live/refined frame ("generate") or a grid of seeds ("variants").</summary>
public enum LiveRequestKind { Generate, Variants }

/// <summary>
/// One parsed, validated client message, mapped once onto the engine's <see cref="GenerationRequest"/> (style applied,
/// the negative prompt only with classifier-free guidance — never for a UNet with a guidance embedding —, variants as a batch). <see cref="Key"/> identifies the picture it describes
/// (everything but the request id and the flags), so a request for the picture already shown is answered without
/// running the UNet again. <see cref="Refine"/>: decode with the full VAE now; <see cref="Keep"/> (implies refine): and
/// save it in the client's history.
/// </summary>
public sealed record LiveRequest(LiveRequestKind Kind, long RequestId, GenerationRequest Generation, bool Live, bool Refine, bool Keep, string Format, string Key)
{
    /// <summary>The ControlNet units used, as "preprocessor:model" (for the frame header).</summary>
    public IReadOnlyList<string> ControlNames { get; init; } = [];
}

/// <summary>
/// Parses one client message (<see cref="ClientMessage"/>, source-generated JSON) into a <see cref="LiveRequest"/>,
/// checking it against the shared policy: <see cref="RequestLimits"/> (prompts, live steps, variants),
/// <see cref="StylePresets"/>, <see cref="InputImages"/>, <see cref="InpaintMasks"/>, the native API's <see cref="Api.Native.NativeControls"/> and the engine's own <see cref="GenerationRequest.Validate"/>.
/// Every problem is an <see cref="InvalidRequestException"/> naming the field (JSON syntax errors name "json", a wrongly
/// typed value its field).
/// </summary>
public static class LiveRequestParser
{
    /// <summary>The real-time protocol's names of the mask fields (errors name them).</summary>
    public static InpaintMasks.Fields MaskFields { get; } = new("mask", "image", "maskBlur", "mask", "mask");

    /// <param name="utf8">The message.</param>
    /// <param name="defaultSize">The model's default side.</param>
    /// <param name="styles">The style presets.</param>
    /// <param name="inputs">The session's decoded input images, masks and mapped controls.</param>
    /// <param name="controlnets">The ControlNets the server offers.</param>
    /// <param name="guidanceEmbedding">The model's UNet takes guidance as an embedding (LCM, <see cref="Generation.LoadedModelInfo.GuidanceEmbedding"/>):
    /// it runs no classifier-free guidance, so the negative prompt is dropped at any guidance, and is neither in <see cref="LiveRequest.Key"/> nor recorded.</param>
    public static LiveRequest Parse(ReadOnlySpan<byte> utf8, int defaultSize, StylePresets styles, LiveInputs inputs, ControlNetSet controlnets, bool guidanceEmbedding = false) =>
        Parse(Read(utf8), defaultSize, styles, inputs, controlnets, guidanceEmbedding);

    /// <summary>The message as a <see cref="ClientMessage"/>; malformed JSON names "json", a wrongly typed value its field.</summary>
    public static ClientMessage Read(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8, RealtimeJson.Default.ClientMessage) ?? throw new InvalidRequestException("json", "The message must be a JSON object.");
        }
        catch (JsonException e) when (FieldOf(e.Path) is { } field)
        {
            throw new InvalidRequestException(field, $"{field} has a value of the wrong type or out of range (line {e.LineNumber}, byte {e.BytePositionInLine}).");
        }
        catch (JsonException e)
        {
            throw new InvalidRequestException("json", $"The message is not a valid JSON object: {FirstSentence(e.Message)}");
        }
    }

    /// <summary>The message's request id: required, ≥ 0 (that it increases is the session's check).</summary>
    public static long RequestId(ClientMessage m)
    {
        long requestId = m.RequestId ?? throw new InvalidRequestException("requestId", "requestId is required.");
        return requestId >= 0 ? requestId : throw new InvalidRequestException("requestId", "requestId must be ≥ 0.");
    }

    /// <summary>A "generate" or "variants" message read by <see cref="Read"/> (an "upscale" message is <see cref="LiveUpscaleRequest"/>'s).</summary>
    public static LiveRequest Parse(ClientMessage m, int defaultSize, StylePresets styles, LiveInputs inputs, ControlNetSet controlnets, bool guidanceEmbedding = false)
    {
        ArgumentNullException.ThrowIfNull(m);
        var kind = (m.Type ?? "generate") switch
        {
            "generate" => LiveRequestKind.Generate,
            "variants" => LiveRequestKind.Variants,
            _ => throw new InvalidRequestException("type", $"Unknown message type '{m.Type}' (expected \"generate\", \"variants\" or \"upscale\")."),
        };
        long requestId = RequestId(m);
        string prompt = m.Prompt ?? "", negative = m.Negative ?? "";
        RequestLimits.CheckPrompt("prompt", prompt);
        RequestLimits.CheckPrompt("negative", negative);
        if (m.Seed is < 0 or > uint.MaxValue) throw new InvalidRequestException("seed", $"seed must be between 0 and {uint.MaxValue} (got {m.Seed}).");
        int steps = m.Steps ?? 1;
        if (steps is < 1 or > RequestLimits.MaxLiveSteps)
            throw new InvalidRequestException("steps", $"steps must be between 1 and {RequestLimits.MaxLiveSteps} for real-time generation (got {steps}).");
        var style = styles.FindOrNone(m.Style);
        string format = m.Format ?? "jpeg";
        if (format is not ("jpeg" or "webp")) throw new InvalidRequestException("format", $"format must be \"jpeg\" or \"webp\" (got \"{format}\").");
        int count = m.Count ?? 4;
        if (kind == LiveRequestKind.Variants && count is < 1 or > RequestLimits.MaxVariants)
            throw new InvalidRequestException("count", $"count must be between 1 and {RequestLimits.MaxVariants} (got {count}).");
        float strength = (float)(m.Strength ?? 0.5);
        double guidance = m.Guidance ?? 0;
        if (!double.IsFinite(guidance) || guidance is < 0 or > RequestLimits.MaxGuidance)
            throw new InvalidRequestException("guidance", $"guidance must be between 0 and {RequestLimits.MaxGuidance} (got {guidance}); above 1 it enables the negative prompt.");

        var (image, imageHash) = m.Image is { Length: > 0 } text ? inputs.Images.Decode("image", text) : default;
        InpaintMask? mask = null;
        string maskHash = "";
        if (m.Mask is { Length: > 0 } maskText)
        {
            if (image is null) throw new InvalidRequestException("mask", "mask needs an image to inpaint (send the picture to repaint as image).");
            var (maskImage, hash) = inputs.Masks.Decode("mask", maskText);
            mask = InpaintMasks.Create(MaskFields, maskImage, image, m.MaskBlur ?? 0);
            maskHash = $"{hash}/{mask.Blur}";
        }
        var controls = inputs.Controls.Map(m.Controls, controlnets, m.Width ?? defaultSize, m.Height ?? defaultSize);
        var (styledPrompt, styledNegative) = style is null ? (prompt, negative) : style.Apply(prompt, negative);
        // Without classifier-free guidance a negative prompt has no effect: it is dropped here, so it neither re-runs the model
        // nor is recorded. An LCM UNet (guidance embedding) never runs CFG: the guidance scale changes its picture, the negative does not.
        var generationGuidance = (float)guidance;
        if (!(generationGuidance > 1f) || guidanceEmbedding) styledNegative = "";
        long? seed = m.Seed;
        if (kind == LiveRequestKind.Variants) seed ??= Random.Shared.NextInt64(0, uint.MaxValue - RequestLimits.MaxVariants);
        var generation = new GenerationRequest
        {
            Prompt = styledPrompt, NegativePrompt = styledNegative, GuidanceScale = generationGuidance, Seed = seed, Steps = steps,
            Width = m.Width, Height = m.Height, InitImage = image, Strength = strength, BatchSize = kind == LiveRequestKind.Variants ? count : 1,
            Mask = mask, Controls = controls.Inputs,
        };
        generation.Validate(defaultSize);
        string key = string.Join('\u001f', styledPrompt, styledNegative, generation.UsesGuidance ? generationGuidance.ToString("R", CultureInfo.InvariantCulture) : "",
            seed?.ToString(CultureInfo.InvariantCulture) ?? "random", steps, m.Width, m.Height,
            image is null ? "" : strength.ToString("R", CultureInfo.InvariantCulture), imageHash ?? "", maskHash, controls.Key);
        bool keep = m.Keep ?? false;
        return new LiveRequest(kind, requestId, generation, m.Live ?? true, keep || (m.Refine ?? false), keep, format, key) { ControlNames = controls.Names };
    }

    /// <summary>The request id of a message that failed to parse, when it has a readable integer one (for the error reply).</summary>
    public static long? TryReadRequestId(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("requestId", out var id)
                && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out long v) ? v : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a name that cannot be decoded (a lone UTF-16 surrogate escaped in a property name).
            return null;
        }
    }

    /// <summary>"$.steps" → "steps"; "$" → null.</summary>
    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith("$.", StringComparison.Ordinal)) return null;
        string p = path[2..];
        int cut = p.IndexOfAny(['.', '[']);
        return cut > 0 ? p[..cut] : p;
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

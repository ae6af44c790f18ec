using TurboGen.Imaging;

namespace TurboGen.Server.Realtime;

/// <summary>What a client message asks for: a live/refined frame ("generate") or a grid of seeds ("variants").</summary>
public enum RealtimeRequestKind { Generate, Variants }

/// <summary>
/// One parsed, validated client message of a real-time session (see <see cref="RealtimeProtocol"/> for the JSON).
/// <see cref="Key"/> identifies the picture it describes (everything but the request id and the flags), so a
/// request for the picture already shown is answered without running the UNet again.
/// </summary>
public sealed record RealtimeRequest
{
    public RealtimeRequestKind Kind { get; init; } = RealtimeRequestKind.Generate;
    public long RequestId { get; init; }
    public string Prompt { get; init; } = "";
    public string Negative { get; init; } = "";
    public long? Seed { get; init; }
    public int Steps { get; init; } = 1;
    public int? Width { get; init; }
    public int? Height { get; init; }
    public string? Style { get; init; }
    public float Strength { get; init; } = 0.5f;

    /// <summary>The decoded init image or sketch (image-to-image), or null.</summary>
    public RgbImage? Image { get; init; }

    /// <summary>Hash of the init image's bytes ("" without one), part of <see cref="Key"/>.</summary>
    public string ImageHash { get; init; } = "";

    /// <summary>Live: fast tiny-VAE frame, refined after a pause. Not live: decode with the full VAE at once and keep it.</summary>
    public bool Live { get; init; } = true;

    /// <summary>Refine right after this frame instead of waiting for the pause (the Enter key).</summary>
    public bool Refine { get; init; }

    /// <summary>"jpeg" or "webp": the encoding of the frames sent back.</summary>
    public string Format { get; init; } = "jpeg";

    /// <summary>Variants only: how many seeds (Seed, Seed+1, ...).</summary>
    public int Count { get; init; } = 4;

    public string Key => string.Join('\u001f', Prompt, Negative, Seed?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "random",
        Steps, Width, Height, Style ?? "", Image is null ? "" : Strength.ToString("R", System.Globalization.CultureInfo.InvariantCulture), ImageHash);
}

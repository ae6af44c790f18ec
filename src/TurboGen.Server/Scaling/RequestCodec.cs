using System.Text.Json;
using System.Text.Json.Serialization;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Server.Scaling;

/// <summary>A <see cref="GenerationRequest"/> as a queued job carries it: JSON for the scalars, names of blobs for images and tensors.</summary>
public sealed record WireRequest(
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("negative_prompt")] string NegativePrompt,
    [property: JsonPropertyName("width")] int? Width,
    [property: JsonPropertyName("height")] int? Height,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("seed")] long? Seed,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("guidance_scale")] float GuidanceScale,
    [property: JsonPropertyName("init_image")] string? InitImage,
    [property: JsonPropertyName("strength")] float Strength,
    [property: JsonPropertyName("use_tiny_vae")] bool UseTinyVae,
    [property: JsonPropertyName("preview_steps")] bool PreviewSteps,
    [property: JsonPropertyName("initial_noise")] string? InitialNoise,
    [property: JsonPropertyName("step_noise")] IReadOnlyList<string>? StepNoise,
    [property: JsonPropertyName("latents_only")] bool LatentsOnly,
    [property: JsonPropertyName("controls")] IReadOnlyList<WireControl> Controls,
    [property: JsonPropertyName("mask")] WireMask? Mask = null,
    [property: JsonPropertyName("image_sample_noise")] string? ImageSampleNoise = null,
    [property: JsonPropertyName("masked_image_sample_noise")] string? MaskedImageSampleNoise = null,
    [property: JsonPropertyName("passed_latents")] string? PassedLatents = null);

/// <summary>An inpainting mask on the wire: its values (one byte per pixel) by blob name, the rest inline.</summary>
public sealed record WireMask(
    [property: JsonPropertyName("values")] string Values,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("blur")] int Blur,
    [property: JsonPropertyName("invert")] bool Invert,
    [property: JsonPropertyName("full_resolution")] bool FullResolution,
    [property: JsonPropertyName("padding")] int Padding,
    [property: JsonPropertyName("fill")] InpaintFill Fill);

/// <summary>A ControlNet input on the wire: the ControlNet by name (the worker loads it), its image by blob name.</summary>
public sealed record WireControl(
    [property: JsonPropertyName("controlnet")] string ControlNet,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("scale")] float Scale,
    [property: JsonPropertyName("guidance_start")] float GuidanceStart,
    [property: JsonPropertyName("guidance_end")] float GuidanceEnd);

/// <summary>An encoded request: its JSON and the blobs it names (blob name → bytes).</summary>
public sealed record EncodedRequest(string Json, IReadOnlyDictionary<string, byte[]> Blobs);

/// <summary>
/// Encodes a <see cref="GenerationRequest"/> for the queue and decodes it on the worker, mapping every property explicitly.
/// <see cref="CarriedProperties"/> lists them; a test fails when <see cref="GenerationRequest"/> gains a settable property
/// not in it, so a new field cannot silently stay behind at the gateway.
/// </summary>
public static class RequestCodec
{
    /// <summary>The settable properties of <see cref="GenerationRequest"/> this codec carries.</summary>
    public static IReadOnlySet<string> CarriedProperties { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        nameof(GenerationRequest.Prompt), nameof(GenerationRequest.NegativePrompt), nameof(GenerationRequest.Width), nameof(GenerationRequest.Height),
        nameof(GenerationRequest.Steps), nameof(GenerationRequest.Seed), nameof(GenerationRequest.BatchSize), nameof(GenerationRequest.GuidanceScale),
        nameof(GenerationRequest.InitImage), nameof(GenerationRequest.Strength), nameof(GenerationRequest.UseTinyVae), nameof(GenerationRequest.PreviewSteps),
        nameof(GenerationRequest.InitialNoise), nameof(GenerationRequest.StepNoise), nameof(GenerationRequest.LatentsOnly), nameof(GenerationRequest.Controls),
        nameof(GenerationRequest.Mask), nameof(GenerationRequest.ImageSampleNoise), nameof(GenerationRequest.MaskedImageSampleNoise),
        nameof(GenerationRequest.PassedLatents),
    };

    /// <summary>Encodes <paramref name="request"/>: every property, images as PNG blobs, tensors and mask values as raw blobs.</summary>
    public static EncodedRequest Encode(GenerationRequest request)
    {
        var blobs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string? Blob(string name, byte[]? bytes)
        {
            if (bytes is null) return null;
            blobs[name] = bytes;
            return name;
        }
        var wire = new WireRequest(
            request.Prompt, request.NegativePrompt, request.Width, request.Height, request.Steps, request.Seed, request.BatchSize, request.GuidanceScale,
            Blob("init", request.InitImage is { } init ? BlobCodec.Image(init) : null),
            request.Strength, request.UseTinyVae, request.PreviewSteps,
            Blob("noise", request.InitialNoise is { } noise ? BlobCodec.Tensor(noise) : null),
            request.StepNoise?.Select((t, i) => Blob($"step{i}", BlobCodec.Tensor(t))!).ToList(),
            request.LatentsOnly,
            (request.Controls ?? []).Select((c, i) => new WireControl(c.ControlNet.Name, Blob($"control{i}", BlobCodec.Image(c.Image))!,
                c.Scale, c.GuidanceStart, c.GuidanceEnd)).ToList(),
            request.Mask is { } mask
                ? new WireMask(Blob("mask", mask.Values)!, mask.Width, mask.Height, mask.Blur, mask.Invert, mask.FullResolution, mask.Padding, mask.Fill)
                : null,
            Blob("image_noise", request.ImageSampleNoise is { } imageNoise ? BlobCodec.Tensor(imageNoise) : null),
            Blob("masked_noise", request.MaskedImageSampleNoise is { } maskedNoise ? BlobCodec.Tensor(maskedNoise) : null),
            Blob("latents", request.PassedLatents is { } latents ? BlobCodec.Tensor(latents) : null));
        return new EncodedRequest(JsonSerializer.Serialize(wire, ScalingJson.Default.WireRequest), blobs);
    }

    /// <summary>The names of the ControlNets a queued request uses, without decoding its blobs.</summary>
    public static IReadOnlyList<string> ControlNetNames(string json) =>
        (JsonSerializer.Deserialize(json, ScalingJson.Default.WireRequest)?.Controls ?? []).Select(c => c.ControlNet).ToList();

    /// <summary>
    /// Decodes a queued request. <paramref name="blob"/> returns a named blob's bytes (or throws when it expired);
    /// <paramref name="controlNet"/> returns the worker's ControlNet of a name (or throws naming the field).
    /// </summary>
    public static GenerationRequest Decode(string json, Func<string, byte[]> blob, Func<string, int, IControlNet> controlNet)
    {
        var wire = JsonSerializer.Deserialize(json, ScalingJson.Default.WireRequest) ?? throw new TurboGenException("The queued request is empty.");
        return new GenerationRequest
        {
            Prompt = wire.Prompt,
            NegativePrompt = wire.NegativePrompt,
            Width = wire.Width,
            Height = wire.Height,
            Steps = wire.Steps,
            Seed = wire.Seed,
            BatchSize = wire.BatchSize,
            GuidanceScale = wire.GuidanceScale,
            InitImage = wire.InitImage is { } init ? BlobCodec.Image(blob(init), "init image") : null,
            Strength = wire.Strength,
            UseTinyVae = wire.UseTinyVae,
            PreviewSteps = wire.PreviewSteps,
            InitialNoise = wire.InitialNoise is { } noise ? BlobCodec.Tensor(blob(noise), "initial noise") : null,
            StepNoise = wire.StepNoise?.Select(name => BlobCodec.Tensor(blob(name), "step noise")).ToList(),
            LatentsOnly = wire.LatentsOnly,
            Controls = (wire.Controls ?? []).Select((c, i) => new ControlInput(controlNet(c.ControlNet, i), BlobCodec.Image(blob(c.Image), $"controlnet[{i}] image"))
            {
                Scale = c.Scale,
                GuidanceStart = c.GuidanceStart,
                GuidanceEnd = c.GuidanceEnd,
            }).ToList(),
            Mask = wire.Mask is { } mask ? DecodeMask(mask, blob(mask.Values)) : null,
            ImageSampleNoise = wire.ImageSampleNoise is { } imageNoise ? BlobCodec.Tensor(blob(imageNoise), "image sample noise") : null,
            MaskedImageSampleNoise = wire.MaskedImageSampleNoise is { } maskedNoise ? BlobCodec.Tensor(blob(maskedNoise), "masked image sample noise") : null,
            PassedLatents = wire.PassedLatents is { } latents ? BlobCodec.Tensor(blob(latents), "passed latents") : null,
        };
    }

    private static InpaintMask DecodeMask(WireMask mask, byte[] values)
    {
        if (mask.Width <= 0 || mask.Height <= 0 || values.Length != (long)mask.Width * mask.Height)
            throw new TurboGenException($"The queued mask blob holds {values.Length} bytes, not {mask.Width}x{mask.Height}: it was damaged or expired.");
        return new InpaintMask(mask.Width, mask.Height, values)
        {
            Blur = mask.Blur,
            Invert = mask.Invert,
            FullResolution = mask.FullResolution,
            Padding = mask.Padding,
            Fill = mask.Fill,
        };
    }
}

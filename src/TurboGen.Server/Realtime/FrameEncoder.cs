using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Policy;
using TurboGen.Server.Realtime.Protocol;

namespace TurboGen.Server.Realtime;

/// <summary>An encoded frame (header + JPEG/WebP bytes), ready to send again with another request id.</summary>
public sealed record Frame(FrameHeader Header, byte[] Image);

/// <summary>
/// The one frame builder of the real-time session: a header from a generation result (seed, size, kind, timings),
/// the image encoded as JPEG/WebP with its encoding time, and the binary message (<see cref="FrameCodec"/>).
/// </summary>
public static class FrameEncoder
{
    /// <summary>Encoding quality of the frames.</summary>
    public const int JpegQuality = 88, WebpQuality = 85;

    /// <summary>A live or variant frame for image <paramref name="index"/> of <paramref name="result"/>.</summary>
    public static Frame Build(LiveRequest request, GenerationResult result, int index, string kind, double queueMs) =>
        Encode(result.Images[index], request.Format, new FrameHeader
        {
            RequestId = request.RequestId, Seed = result.Seeds[index], Width = result.Width, Height = result.Height, Kind = kind,
            Index = kind == FrameKinds.Variant ? index : null, Format = request.Format, ImageToImage = request.Generation.IsImageToImage,
            Prompt = request.Generation.Prompt, Negative = request.Generation.NegativePrompt,
            Guidance = request.Generation.UsesGuidance ? request.Generation.GuidanceScale : null, PromptTruncated = result.PromptTruncated,
            Controls = request.ControlNames, Inpaint = request.Generation.Mask is not null,
            Timings = new FrameTimings
            {
                Stages = result.Timings.Stages.GroupBy(s => s.Stage).ToDictionary(g => g.Key, g => Math.Round(g.Sum(s => s.Milliseconds), 3)),
                ModelMs = result.Timings.TotalMilliseconds, OnnxMs = result.Timings.OnnxMilliseconds, QueueMs = queueMs,
            },
        });

    /// <summary>The refined frame of a shown live frame: the full-VAE image and the refine's own stages.</summary>
    public static Frame Refined(Frame live, RgbImage image, IReadOnlyDictionary<string, double> stages) =>
        Encode(image, live.Header.Format, live.Header with
        {
            Kind = FrameKinds.Refined, File = null,
            Timings = new FrameTimings { Stages = new Dictionary<string, double>(stages), ModelMs = stages.GetValueOrDefault("decode.vae") },
        });

    /// <summary>An upscale's result: the PNG with its <paramref name="metadata"/> (lossless, as <c>/api/upscale</c> answers), the upscale named in the header.</summary>
    public static Frame Upscaled(long requestId, RgbImage image, UpscaleRecord record, ImageMetadata metadata, double queueMs, double upscaleMs)
    {
        var clock = Stopwatch.StartNew();
        byte[] png = ImageOutput.Encode(image, ImageOutputFormat.Png, 100, metadata);
        return new Frame(new FrameHeader
        {
            RequestId = requestId, Width = image.Width, Height = image.Height, Kind = FrameKinds.Upscaled, Format = ImageOutput.Name(ImageOutputFormat.Png), Upscale = record,
            Timings = new FrameTimings
            {
                Stages = new Dictionary<string, double> { ["upscale"] = Math.Round(upscaleMs, 3) }, ModelMs = upscaleMs, QueueMs = queueMs,
                EncodeMs = clock.Elapsed.TotalMilliseconds,
            },
        }, png);
    }

    /// <summary>A refined frame as the answer to a keep: the same picture, naming the kept file.</summary>
    public static Frame Kept(Frame refined, string file, double saveMs) => refined with
    {
        Header = refined.Header with { File = file, Timings = refined.Header.Timings with { Stages = new Dictionary<string, double>(refined.Header.Timings.Stages) { ["save"] = saveMs } } },
    };

    /// <summary>The binary message of <paramref name="frame"/> answering <paramref name="requestId"/>.</summary>
    public static byte[] Message(Frame frame, long requestId, double elapsedMs) =>
        FrameCodec.Encode(frame.Header with { RequestId = requestId, ElapsedMs = Math.Round(elapsedMs, 3) }, frame.Image);

    private static Frame Encode(RgbImage image, string format, FrameHeader header)
    {
        var clock = Stopwatch.StartNew();
        var output = format == "webp" ? ImageOutputFormat.Webp : ImageOutputFormat.Jpeg;
        byte[] bytes = ImageOutput.Encode(image, output, output == ImageOutputFormat.Webp ? WebpQuality : JpegQuality, null);
        return new Frame(header with { Timings = header.Timings with { EncodeMs = clock.Elapsed.TotalMilliseconds } }, bytes);
    }
}

using System.Text.Json;
using StackExchange.Redis;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Server.Generation;

namespace TurboGen.Server.Scaling;

/// <summary>
/// A job's outcome on a reply entry: <c>data</c> is a <see cref="WireResult"/>, the images are the fields image0, image1, …
/// and a generation's final latents the field <c>latents</c> (binary, <see cref="BlobCodec"/>).
/// </summary>
internal static class ReplyDecoder
{
    /// <summary>The typed result for <paramref name="job"/>'s kind, and the time the worker spent on it.</summary>
    public static (object Result, double RunMilliseconds) Result(GenerationJob job, StreamEntry entry, GenerationRequest? request)
    {
        var wire = JsonSerializer.Deserialize(entry["data"].ToString(), ScalingJson.Default.WireResult) ?? throw new TurboGenException("The result is empty.");
        var images = Enumerable.Range(0, wire.Images).Select(i => BlobCodec.Image((byte[])entry[$"image{i}"]!, $"result image {i}")).ToList();
        object result = job switch
        {
            GenerationJob<GenerationResult> => GenerationResultOf(wire, images, entry["latents"], request),
            GenerationJob<IReadOnlyList<RgbImage>> => images,
            GenerationJob<RgbImage> => images.Count == 1 ? images[0] : throw new TurboGenException($"An upscale result holds {images.Count} images."),
            _ => throw new TurboGenException($"No reply decoder for {job.GetType().Name}."),
        };
        return (result, wire.RunMilliseconds);
    }

    private static GenerationResult GenerationResultOf(WireResult wire, IReadOnlyList<RgbImage> images, RedisValue latents, GenerationRequest? request)
    {
        var timings = new StageTimings();
        foreach (var t in wire.Timings) timings.Add(t.Stage, t.Milliseconds, t.OnnxMilliseconds);
        var tensor = latents.IsNullOrEmpty ? Tensors.FloatTensor.Zeros(0) : BlobCodec.Tensor((byte[])latents!, "result latents");
        return new GenerationResult(images, wire.Seeds, tensor, timings, wire.Width, wire.Height, wire.PromptTruncated,
            request ?? throw new TurboGenException("A generation reply without its request."), wire.Sampler);
    }
}

/// <summary>The worker's side of <see cref="ReplyDecoder"/>: the fields of a result reply.</summary>
internal static class ReplyEncoder
{
    public static List<RedisValue> Result(object result, double runMilliseconds)
    {
        var (wire, images, latents) = result switch
        {
            GenerationResult g => (new WireResult(g.Seeds, g.Width, g.Height, g.PromptTruncated, g.Sampler, g.Timings.Stages, g.Images.Count, runMilliseconds),
                g.Images, g.Latents.Length > 0 ? BlobCodec.Tensor(g.Latents) : null),
            IReadOnlyList<RgbImage> list => (Plain(list.Count, runMilliseconds), list, null),
            RgbImage image => (Plain(1, runMilliseconds), (IReadOnlyList<RgbImage>)[image], (byte[]?)null),
            _ => throw new TurboGenException($"No reply encoder for {result.GetType().Name}."),
        };
        var fields = new List<RedisValue> { "data", JsonSerializer.Serialize(wire, ScalingJson.Default.WireResult) };
        for (int i = 0; i < images.Count; i++)
        {
            fields.Add($"image{i}");
            fields.Add(BlobCodec.Image(images[i]));
        }
        if (latents is not null)
        {
            fields.Add("latents");
            fields.Add(latents);
        }
        return fields;
    }

    private static WireResult Plain(int images, double runMilliseconds) => new([], 0, 0, false, "", [], images, runMilliseconds);

    public static List<RedisValue> Failure(Exception error) =>
        ["data", JsonSerializer.Serialize(new WireFailure(error.Message, (error as InvalidRequestException)?.Parameter), ScalingJson.Default.WireFailure)];
}

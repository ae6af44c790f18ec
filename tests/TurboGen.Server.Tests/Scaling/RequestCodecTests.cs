using System.Reflection;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Server.Scaling;
using TurboGen.Tensors;
using TurboGen.Testing;

namespace TurboGen.Server.Tests.Scaling;

/// <summary>The queue's codec of <see cref="GenerationRequest"/>: every field carried, blobs by reference, exact round trips.</summary>
public sealed class RequestCodecTests
{
    private static readonly PropertyInfo[] Settable = typeof(GenerationRequest).GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.SetMethod is not null).ToArray();

    [Fact]
    public void EveryPropertyOfGenerationRequest_IsCarriedByTheCodec()
    {
        // A property added to GenerationRequest (e.g. an inpainting mask) fails here until RequestCodec carries it to the workers.
        var missing = Settable.Select(p => p.Name).Where(n => !RequestCodec.CarriedProperties.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"GenerationRequest properties the queue codec does not carry: {string.Join(", ", missing)}");
        Assert.DoesNotContain(RequestCodec.CarriedProperties, n => Settable.All(p => p.Name != n));
    }

    [Fact]
    public void RoundTrip_KeepsEveryProperty_AndSendsImagesAndTensorsAsBlobs()
    {
        using var controlNet = ControlNet.Load(Path.Combine(TinyControlNets.Get(TinyFamily.SdxlTurbo), "model.onnx"), new RuntimeOptions { Threads = 1 });
        var request = new GenerationRequest
        {
            Prompt = "a fox\nin snow",
            NegativePrompt = "blurry",
            Width = 64,
            Height = 72,
            Steps = 3,
            Seed = 1234567890123,
            BatchSize = 2,
            GuidanceScale = 2.5f,
            InitImage = Image(16, 8, 3),
            Strength = 0.7f,
            UseTinyVae = true,
            PreviewSteps = true,
            InitialNoise = new FloatTensor([1.5f, -2f, float.Epsilon, 3f], [1, 1, 2, 2]),
            StepNoise = [new FloatTensor([0.25f, 0.5f], [1, 2]), new FloatTensor([-1f], [1])],
            LatentsOnly = true,
            Controls = [new ControlInput(controlNet, Image(8, 8, 9)) { Scale = 0.8f, GuidanceStart = 0.1f, GuidanceEnd = 0.9f }],
            Mask = new InpaintMask(16, 8, Enumerable.Range(0, 128).Select(i => (byte)(i * 2)).ToArray())
            {
                Blur = 3, Invert = true, FullResolution = true, Padding = 12, Fill = InpaintFill.LatentNoise,
            },
            ImageSampleNoise = new FloatTensor([0.5f, -0.75f], [1, 2]),
            MaskedImageSampleNoise = new FloatTensor([2f], [1, 1]),
            PassedLatents = new FloatTensor([-3f, 4f, 0.125f], [1, 3]),
        };
        foreach (var property in Settable)
        {
            // Every settable property is set to something other than its default, so the round trip below checks it.
            Assert.False(Same(property.GetValue(request), property.GetValue(new GenerationRequest())), $"the test leaves {property.Name} at its default");
        }
        var encoded = RequestCodec.Encode(request);
        Assert.Equal(["control0", "image_noise", "init", "latents", "mask", "masked_noise", "noise", "step0", "step1"], encoded.Blobs.Keys.Order(StringComparer.Ordinal));
        Assert.True(encoded.Json.Length < 1000, encoded.Json); // pixels and tensors are not inline
        string controlName = controlNet.Name;
        var decoded = RequestCodec.Decode(encoded.Json, name => encoded.Blobs[name], (name, index) =>
        {
            Assert.Equal((controlName, 0), (name, index));
            return controlNet;
        });
        foreach (var property in Settable)
        {
            Assert.True(Same(property.GetValue(request), property.GetValue(decoded)), $"{property.Name} changed in the round trip");
        }
    }

    [Fact]
    public void Decode_AnExpiredBlob_OrAnUnknownControlNet_SaysWhich()
    {
        var encoded = RequestCodec.Encode(new GenerationRequest { Prompt = "x", InitImage = Image(4, 4, 1) });
        var error = Assert.Throws<TurboGenException>(() => RequestCodec.Decode(encoded.Json, _ => [1, 2, 3], (_, _) => throw new InvalidOperationException()));
        Assert.Contains("init image", error.Message);
    }

    [Theory]
    [InlineData("redis://127.0.0.1:6380", "127.0.0.1", 6380)]
    [InlineData("redis://queue.internal", "queue.internal", 6379)]
    public void QueueAddress_Parses(string value, string host, int port) => Assert.Equal(new QueueAddress(host, port), QueueAddress.Parse(value));

    [Theory]
    [InlineData("127.0.0.1:6379")]
    [InlineData("http://127.0.0.1:6379")]
    [InlineData("redis://user:pw@127.0.0.1:6379")]
    [InlineData("redis://127.0.0.1:6379/2")]
    public void QueueAddress_RefusesWhatItCannotUse(string value) =>
        Assert.Equal("--queue", Assert.Throws<InvalidRequestException>(() => QueueAddress.Parse(value)).Parameter);

    private static RgbImage Image(int w, int h, int seed)
    {
        var pixels = new byte[w * h * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(w, h, pixels);
    }

    /// <summary>Value equality through images, tensors, lists and ControlNet inputs.</summary>
    private static bool Same(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (RgbImage x, RgbImage y) => x.Width == y.Width && x.Height == y.Height && x.Pixels.AsSpan().SequenceEqual(y.Pixels),
        (FloatTensor x, FloatTensor y) => x.Shape.SequenceEqual(y.Shape) && x.Data.AsSpan().SequenceEqual(y.Data),
        (ControlInput x, ControlInput y) => ReferenceEquals(x.ControlNet, y.ControlNet) && Same(x.Image, y.Image) && x.Scale == y.Scale
            && x.GuidanceStart == y.GuidanceStart && x.GuidanceEnd == y.GuidanceEnd,
        (InpaintMask x, InpaintMask y) => x.Width == y.Width && x.Height == y.Height && x.Values.AsSpan().SequenceEqual(y.Values) && x.Blur == y.Blur
            && x.Invert == y.Invert && x.FullResolution == y.FullResolution && x.Padding == y.Padding && x.Fill == y.Fill,
        (string x, string y) => x == y,
        (System.Collections.IEnumerable x, System.Collections.IEnumerable y) => x.Cast<object?>().Count() == y.Cast<object?>().Count()
            && x.Cast<object?>().Zip(y.Cast<object?>()).All(p => Same(p.First, p.Second)),
        _ => Equals(a, b),
    };
}

using TurboGen.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Scheduling;
using TurboGen.Tensors;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// Image-to-image and inpainting requests that decode with the tiny VAE encode with its encoder too (the tiny VAE folder the
/// builder writes from the golden TAESD has one): the start latents are exactly that encoder's output at scale 1 (TAESD latents
/// are already in the UNet's scale) noised, the stage is timed as <c>tiny_vae_encode</c>, and a request with the full VAE
/// still uses the full encoder.
/// </summary>
public sealed class TinyVaeEncoderTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-tiny-encoder");
    private readonly TurboModel _model;

    public TinyVaeEncoderTests()
    {
        string taesd = Path.Combine(_dir, "taesd");
        Directory.CreateDirectory(taesd);
        TinyVaeBuilder.WriteInto(TestPaths.GoldenCase("taesd"), taesd);
        _model = TurboModel.Load(TinyModels.Get(TinyFamily.SdTurbo, TinyFlavor.OptimumNew, withTinyVae: false), new ModelLoadOptions { TinyVaePath = taesd });
    }

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static RgbImage Init() => new(64, 64, Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 13 % 251)).ToArray());

    private static GenerationRequest Request(bool tiny) => new()
    {
        Prompt = "a red barn", Seed = 7, Width = 64, Height = 64, Steps = 2, Strength = 0.5f, InitImage = Init(), UseTinyVae = tiny,
        InitialNoise = new FloatTensor(new float[4 * 8 * 8], [1, 4, 8, 8]),
    };

    [Fact]
    public void ImageToImage_WithTheTinyVae_StartsFromTheTinyEncodersLatents()
    {
        Assert.NotNull(_model.TinyVaeEncoder);
        var scheduler = new TurboPipeline(_model).Scheduler;
        var timings = new StageTimings();
        var start = new ImageToImageInit(_model).Prepare(scheduler, Request(tiny: true), 64, 64, [new NoiseStream(7)], timings, default);

        var pixels = new float[3 * 64 * 64];
        ImageTensors.ToNchw(Init(), pixels);
        var direct = _model.TinyVaeEncoder!.Encode(new FloatTensor(pixels, [1, 3, 64, 64]), default).Value;
        Assert.Null(direct.LogVar); // AutoencoderTiny's encoder returns the latents themselves
        // Zero added noise: the start is the clean latents (Euler's add_noise is x + σ·0), at TAESD's scale 1.
        Assert.Equal(direct.Mean.Data, start.Latents.Data);
        Assert.Contains(timings.Stages, s => s.Stage == "tiny_vae_encode");
        Assert.DoesNotContain(timings.Stages, s => s.Stage == "vae_encode");

        var full = new StageTimings();
        var fullStart = new ImageToImageInit(_model).Prepare(scheduler, Request(tiny: false), 64, 64, [new NoiseStream(7)], full, default);
        Assert.Contains(full.Stages, s => s.Stage == "vae_encode");
        Assert.NotEqual(start.Latents.Data, fullStart.Latents.Data);
    }

    [Fact]
    public void WholeGenerations_UseTheTinyEncoder_ForImageToImageAndInpainting()
    {
        var pipeline = new TurboPipeline(_model);
        var img2img = pipeline.Generate(Request(tiny: true) with { InitialNoise = null });
        Assert.Contains(img2img.Timings.Stages, s => s.Stage == "tiny_vae_encode");
        var mask = new byte[64 * 64];
        for (int i = 0; i < mask.Length; i++) mask[i] = (byte)(i % 64 < 32 ? 255 : 0);
        var inpaint = pipeline.Generate(Request(tiny: true) with { InitialNoise = null, Mask = new InpaintMask(64, 64, mask) });
        Assert.Contains(inpaint.Timings.Stages, s => s.Stage == "tiny_vae_encode");
        Assert.Equal((64, 64), (inpaint.Images[0].Width, inpaint.Images[0].Height));
    }
}

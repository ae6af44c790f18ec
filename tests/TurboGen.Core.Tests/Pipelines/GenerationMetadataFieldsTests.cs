using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>
/// The infotext fields a request implies (<see cref="GenerationMetadata.RequestFields"/>) under A1111's keys — inpainting as
/// A1111's img2img writes it, each ControlNet as the ControlNet extension writes a unit — and that they survive the infotext
/// round trip.
/// </summary>
public sealed class GenerationMetadataFieldsTests
{
    private sealed class NamedControlNet(string path) : IControlNet
    {
        public string Path => path;
        public bool UsesTextTime => false;
        public int CrossAttentionDim => 32;
        public int DownResidualCount => 12;

        public Timed<ControlResiduals> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds,
            FloatTensor controlImage, float scale, CancellationToken cancellationToken) => throw new NotSupportedException("never run here");
    }

    private static readonly RgbImage Image = new(8, 8, new byte[8 * 8 * 3]);

    [Fact]
    public void APlainRequest_RecordsOnlyItsVae()
    {
        Assert.Equal(new Dictionary<string, string> { ["VAE"] = "TAESD" }, GenerationMetadata.RequestFields(new GenerationRequest { Prompt = "x" }, "tiny"));
    }

    [Fact]
    public void InpaintingAndControlNets_AreWrittenUnderA1111Keys_AndRoundTrip()
    {
        var request = new GenerationRequest
        {
            Prompt = "x",
            InitImage = Image,
            Mask = new InpaintMask(8, 8, new byte[64]) { Blur = 4, Invert = true, FullResolution = true, Padding = 48, Fill = InpaintFill.LatentNoise },
            Controls =
            [
                new ControlInput(new NamedControlNet("/models/controlnet-canny-sdxl/model.onnx"), Image) { Scale = 0.5f, GuidanceEnd = 0.75f },
                new ControlInput(new NamedControlNet("/models/control_v11p_sd15_scribble.safetensors"), Image),
            ],
        };
        var fields = GenerationMetadata.RequestFields(request, "full");
        Assert.Equal(new Dictionary<string, string>
        {
            ["VAE"] = "full",
            ["Mask blur"] = "4",
            ["Masked content"] = "latent noise",
            ["Mask mode"] = "Inpaint not masked",
            ["Inpaint area"] = "Only masked",
            ["Masked area padding"] = "48",
            ["ControlNet 0"] = "Model: controlnet-canny-sdxl, Weight: 0.5, Guidance Start: 0, Guidance End: 0.75",
            ["ControlNet 1"] = "Model: control_v11p_sd15_scribble, Weight: 1, Guidance Start: 0, Guidance End: 1",
        }, fields);

        string text = Infotext.Format(new InfotextFields("x", "", 1, "Euler a", 1f, 1, 8, 8, "m", 0.5f, fields));
        Assert.Contains("ControlNet 0: \"Model: controlnet-canny-sdxl, Weight: 0.5, Guidance Start: 0, Guidance End: 0.75\"", text);
        Assert.Equal(fields, Infotext.Parse(text).Extra);
    }

    [Fact]
    public void WholePictureInpainting_HasNoAreaOrPadding()
    {
        var request = new GenerationRequest { Prompt = "x", InitImage = Image, Mask = new InpaintMask(8, 8, new byte[64]) };
        var fields = GenerationMetadata.RequestFields(request, "full");
        Assert.Equal("original", fields["Masked content"]);
        Assert.Equal("0", fields["Mask blur"]);
        Assert.False(fields.ContainsKey("Inpaint area") || fields.ContainsKey("Masked area padding") || fields.ContainsKey("Mask mode"));
    }
}

using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>Inpainting options beyond the golden case (blur/feather, invert, full resolution, fill modes) and bad input, on the golden SD 1.5 components.</summary>
public sealed class InpaintPipelineTests(InpaintPipelineParityTests.Fixture fixture) : IClassFixture<InpaintPipelineParityTests.Fixture>
{
    private const int Side = 128;

    private static RgbImage InitImage()
    {
        using var inputs = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.InpaintCase, "inputs.safetensors"));
        return new RgbImage(Side, Side, inputs.Bytes("init_image_u8_hwc"));
    }

    /// <summary>A mask repainting the square [x0, x1)² of a <paramref name="side"/>² image.</summary>
    private static InpaintMask Square(int side, int x0, int x1)
    {
        var values = new byte[side * side];
        for (int y = x0; y < x1; y++) for (int x = x0; x < x1; x++) values[y * side + x] = 255;
        return new InpaintMask(side, side, values);
    }

    private static GenerationRequest Request(InpaintMask mask, RgbImage? image = null) => new()
    {
        Prompt = "a photo of a cat", Width = Side, Height = Side, Steps = 2, Strength = 0.6f, Seed = 3, InitImage = image ?? InitImage(), Mask = mask,
    };

    [Fact]
    public void Feathered_KeepsTheInitImageExactlyWhereTheBlurredMaskIsZero()
    {
        var mask = Square(Side, 48, 80) with { Blur = 4 };
        var result = new TurboPipeline(fixture.Plain).Generate(Request(mask));
        var image = Assert.Single(result.Images);
        var init = InitImage();
        var blurred = mask.Processed();
        int kept = 0, changed = 0;
        for (int p = 0; p < Side * Side; p++)
        {
            bool same = image.Pixels.AsSpan(3 * p, 3).SequenceEqual(init.Pixels.AsSpan(3 * p, 3));
            if (blurred[p] == 0) { Assert.True(same, $"pixel {p} outside the mask changed"); kept++; }
            else if (blurred[p] == 255 && !same) changed++;
        }
        Assert.True(kept > Side * Side / 2);
        Assert.True(changed > 100, $"only {changed} masked pixels changed");
    }

    [Fact]
    public void Invert_RepaintsTheOtherSide()
    {
        var pipeline = new TurboPipeline(fixture.Plain);
        var mask = Square(Side, 32, 96);
        var plain = pipeline.Generate(Request(mask));
        var inverted = pipeline.Generate(Request(mask with { Invert = true }));
        var none = pipeline.Generate(Request(new InpaintMask(Side, Side, new byte[Side * Side])));
        // 4-channel blending ends on the un-noised image latents wherever the mask keeps (same seed: same image sample).
        int h = Side / 8, corner = 0, centre = (h / 2) * h + h / 2;
        Assert.Equal(none.Latents.Data[corner], plain.Latents.Data[corner]);
        Assert.NotEqual(none.Latents.Data[centre], plain.Latents.Data[centre]);
        Assert.Equal(none.Latents.Data[centre], inverted.Latents.Data[centre]);
        Assert.NotEqual(none.Latents.Data[corner], inverted.Latents.Data[corner]);
    }

    [Fact]
    public void FullResolution_PastesTheCropBack_AtTheInitImageSize()
    {
        // A 256² init image, a mask in one corner: the crop (mask box + 8 px padding) is generated at 128² and pasted back.
        var big = ImageOps.ResizeCover(InitImage(), 256, 256);
        var mask = Square(256, 16, 48) with { FullResolution = true, Padding = 8 };
        var result = new TurboPipeline(fixture.Plain).Generate(Request(mask, big));
        var image = Assert.Single(result.Images);
        Assert.Equal((256, 256), (image.Width, image.Height));
        Assert.Equal((256, 256), (result.Width, result.Height));
        Assert.Contains(result.Timings.Stages, s => s.Stage == "inpaint.crop");
        for (int y = 0; y < 256; y++)
        {
            for (int x = 0; x < 256; x++)
            {
                if (x is >= 16 and < 48 && y is >= 16 and < 48) continue;
                int p = 3 * (y * 256 + x);
                Assert.True(image.Pixels.AsSpan(p, 3).SequenceEqual(big.Pixels.AsSpan(p, 3)), $"pixel ({x},{y}) outside the mask changed");
            }
        }
        Assert.False(image.Pixels.AsSpan().SequenceEqual(big.Pixels));
    }

    [Fact]
    public void Region_GrowsThePaddedBoxToTheTargetAspect_InsideTheImage()
    {
        var mask = Square(256, 16, 48).Values;
        Assert.Equal((8, 8, 48, 48), InpaintCrop.Region(mask, 256, 256, 8, 128, 128));
        // A 2:1 target: the 48×48 box grows to 96 wide, shifted right to stay inside.
        Assert.Equal((0, 8, 96, 48), InpaintCrop.Region(mask, 256, 256, 8, 256, 128));
        Assert.Equal((0, 0, 256, 256), InpaintCrop.Region(new byte[256 * 256], 256, 256, 8, 128, 128));
    }

    [Theory]
    [InlineData(InpaintFill.Fill)]
    [InlineData(InpaintFill.LatentNoise)]
    [InlineData(InpaintFill.LatentNothing)]
    public void FillModes_ChangeTheStart_OfTheMaskedArea(InpaintFill fill)
    {
        var pipeline = new TurboPipeline(fixture.Plain);
        var mask = Square(Side, 32, 96);
        var original = pipeline.Generate(Request(mask));
        var filled = pipeline.Generate(Request(mask with { Fill = fill }));
        Assert.True(GoldenTensors.RelativeError(filled.Latents.Data, original.Latents.Data) > 1e-3, $"{fill} gave the original's result");
    }

    [Fact]
    public void Fill_ReplacesMaskedPixelsByNearbyColours_AndKeepsTheRest()
    {
        var init = InitImage();
        var mask = Square(Side, 32, 96).Values;
        var filled = MaskOps.Fill(init, mask);
        for (int p = 0; p < Side * Side; p++)
        {
            if (mask[p] == 0) Assert.True(filled.Pixels.AsSpan(3 * p, 3).SequenceEqual(init.Pixels.AsSpan(3 * p, 3)));
        }
        // A flat kept area fills the hole with its colour.
        var grey = new RgbImage(Side, Side, Enumerable.Repeat((byte)90, 3 * Side * Side).ToArray());
        Assert.All(MaskOps.Fill(grey, mask).Pixels, v => Assert.InRange(v, 89, 91));
    }

    [Fact]
    public void BadMasks_AreRefusedNamingTheField()
    {
        var pipeline = new TurboPipeline(fixture.Plain);
        var e = Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request(Square(64, 0, 8))));
        Assert.Equal("mask", e.Parameter);
        Assert.Contains("64x64", e.Message);
        e = Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request(Square(Side, 0, 8)) with { InitImage = null }));
        Assert.Equal("mask", e.Parameter);
        e = Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request(Square(Side, 0, 8) with { Blur = 65 })));
        Assert.Equal("mask_blur", e.Parameter);
        e = Assert.Throws<InvalidRequestException>(() => pipeline.Generate(Request(Square(Side, 0, 8) with { Fill = (InpaintFill)7 })));
        Assert.Equal("inpainting_fill", e.Parameter);
        // A 9-channel inpainting UNet needs a mask.
        e = Assert.Throws<InvalidRequestException>(() => new TurboPipeline(fixture.Inpainting).Generate(new GenerationRequest { Prompt = "x", Width = Side, Height = Side }));
        Assert.Equal("mask", e.Parameter);
    }
}

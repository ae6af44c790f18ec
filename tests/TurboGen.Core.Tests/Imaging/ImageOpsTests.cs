using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

public class ImageOpsTests
{
    [Fact]
    public void ResizeCover_WideImage_CropsCentreSoBothHalvesShowEqually()
    {
        RgbImage image = TestImages.Halves(200, 100, (255, 0, 0), (0, 0, 255));

        RgbImage cover = ImageOps.ResizeCover(image, 64, 64);

        Assert.Equal((64, 64), (cover.Width, cover.Height));
        int red = 0, blue = 0;
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                var (r, _, b) = TestImages.Pixel(cover, x, y);
                red += r > b ? 1 : 0;
                blue += b > r ? 1 : 0;
            }
        }
        Assert.Equal(32 * 64, red);
        Assert.Equal(32 * 64, blue);
        Assert.Equal((255, 0, 0), TestImages.Pixel(cover, 0, 0));
        Assert.Equal((0, 0, 255), TestImages.Pixel(cover, 63, 63));
    }

    [Fact]
    public void ResizeCover_TallImage_KeepsTheMiddleBand()
    {
        // 60×300: rows 0-99 black, 100-199 white, 200-299 black → cover 30×30 keeps the white middle 60×60.
        var pixels = new byte[60 * 300 * 3];
        pixels.AsSpan(60 * 100 * 3, 60 * 100 * 3).Fill(255);
        var image = new RgbImage(60, 300, pixels);

        RgbImage cover = ImageOps.ResizeCover(image, 30, 30);

        Assert.Equal((30, 30), (cover.Width, cover.Height));
        Assert.All(cover.Pixels, p => Assert.Equal(255, p));
    }

    [Fact]
    public void ResizeCover_SameSize_IsExact_AndIntegerCropIsExact()
    {
        RgbImage image = TestImages.Noise(40, 30, seed: 21);

        Assert.Equal(image.Pixels, ImageOps.ResizeCover(image, 40, 30).Pixels);

        RgbImage crop = ImageOps.ResizeCover(image, 20, 30); // scale 1, columns 10..29
        for (int y = 0; y < 30; y++)
        {
            for (int x = 0; x < 20; x++)
            {
                Assert.Equal(TestImages.Pixel(image, x + 10, y), TestImages.Pixel(crop, x, y));
            }
        }
    }

    [Fact]
    public void ResizeCover_LargeShrink_AveragesFineDetailInsteadOfAliasing()
    {
        // Vertical 1-pixel stripes with period 3 (one white column in three), shrunk 8×: a point-sampling resize
        // aliases them into bands from black to white; a filtered one stays near the average, 85.
        var pixels = new byte[512 * 512 * 3];
        for (int y = 0; y < 512; y++)
        {
            for (int x = 2; x < 512; x += 3)
            {
                pixels.AsSpan(3 * (y * 512 + x), 3).Fill(255);
            }
        }

        RgbImage cover = ImageOps.ResizeCover(new RgbImage(512, 512, pixels), 64, 64);

        // Box halving to 128 then a 2:1 Catmull-Rom leaves 56..100 here; point-sampling-like resizes give 0..143.
        Assert.All(cover.Pixels, p => Assert.InRange(p, 50, 110));
    }

    [Fact]
    public void ResizeCover_Enlarges()
    {
        RgbImage image = TestImages.Halves(4, 2, (0, 255, 0), (255, 255, 0));

        RgbImage cover = ImageOps.ResizeCover(image, 40, 40); // scale 20, crop the middle 2×2

        Assert.Equal((40, 40), (cover.Width, cover.Height));
        Assert.Equal((0, 255, 0), TestImages.Pixel(cover, 2, 20));
        Assert.Equal((255, 255, 0), TestImages.Pixel(cover, 37, 20));
    }

    [Fact]
    public void ResizeCover_RejectsNonPositiveSize()
    {
        Assert.Throws<ArgumentException>(() => ImageOps.ResizeCover(TestImages.Noise(4, 4, seed: 1), 0, 4));
    }
}

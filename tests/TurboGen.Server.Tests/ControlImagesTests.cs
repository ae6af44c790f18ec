using TurboGen.Imaging;
using TurboGen.Server.Policy;
using TurboGen.Testing;

namespace TurboGen.Server.Tests;

/// <summary>How the APIs fit a control image to the output size, and the start-up check of the UNet's ControlNet inputs.</summary>
public sealed class ControlImagesTests
{
    /// <summary>A 40×20 image: a red left half, a blue right half, a green 1-pixel frame except on the left column.</summary>
    private static RgbImage Sample()
    {
        const int w = 40, h = 20;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = 3 * (y * w + x);
                bool frame = (y == 0 || y == h - 1 || x == w - 1) && x > 0;
                if (frame) pixels[i + 1] = 200;
                else if (x < w / 2) pixels[i] = 255;
                else pixels[i + 2] = 255;
            }
        return new RgbImage(w, h, pixels);
    }

    private static (byte R, byte G, byte B) At(RgbImage image, int x, int y)
    {
        int i = 3 * (y * image.Width + x);
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }

    [Fact]
    public void Stretch_LeavesTheImageToTheEngine_CropKeepsTheCentre_FillPadsWithTheBorderMedian()
    {
        var image = Sample();
        Assert.Same(image, ControlImages.Fit(image, 32, 32, ControlFit.Stretch));

        var crop = ControlImages.Fit(image, 32, 32, ControlFit.Crop);
        Assert.Equal((32, 32), (crop.Width, crop.Height));
        Assert.Equal(255, At(crop, 8, 16).R);   // the centre 20×20 (half red, half blue) fills the square
        Assert.Equal(255, At(crop, 24, 16).B);

        var fill = ControlImages.Fit(image, 32, 32, ControlFit.Fill);
        Assert.Equal((32, 32), (fill.Width, fill.Height));
        Assert.Equal((0, 200, 0), At(fill, 16, 2));   // above the 32×16 picture: the border's median colour (green)
        Assert.Equal((0, 200, 0), At(fill, 16, 29));
        Assert.True(At(fill, 6, 16).R > 200);          // the picture itself, centred
        Assert.True(At(fill, 24, 16).B > 200);
    }

    [Fact]
    public void Prepare_RefusesAnUnknownModule_NamingTheField_AndScalesToTheResolutionFirst()
    {
        var e = Assert.Throws<InvalidRequestException>(() => ControlImages.Prepare("units[0].module", "depth", Sample(), 64, 64, ControlFit.Crop));
        Assert.Equal("units[0].module", e.Parameter);
        var edges = ControlImages.Prepare("m", "canny", Sample(), 64, 48, ControlFit.Fill, resolution: 64);
        Assert.Equal((64, 48), (edges.Width, edges.Height));
    }

    [Fact]
    public async Task AServerWithControlNets_OnAUnetWithoutResidualInputs_FailsToStart_SayingWhy()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(configure: o => o with
        {
            ControlNets = [new("tiny", TinyControlNets.Get(TinyFamily.SdxlTurbo))],
        }));
        Assert.Contains("cannot take ControlNet residuals", e.Message);
    }
}

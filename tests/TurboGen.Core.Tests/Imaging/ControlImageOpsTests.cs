using TurboGen.Imaging;

namespace TurboGen.Core.Tests.Imaging;

/// <summary>Canny (OpenCV's rules), sketch conversions and the Pillow Lanczos resize used for control images.</summary>
public sealed class ControlImageOpsTests
{
    private static RgbImage Filled(int w, int h, Func<int, int, byte> grey)
    {
        var p = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                p[3 * (y * w + x)] = p[3 * (y * w + x) + 1] = p[3 * (y * w + x) + 2] = grey(x, y);
        return new RgbImage(w, h, p);
    }

    private static bool Edge(RgbImage e, int x, int y) => e.Pixels[3 * (y * e.Width + x)] == 255;

    [Fact]
    public void Canny_FindsTheSquareOutline_OnePixelWide_WhereOpenCvPutsIt()
    {
        var square = Filled(32, 32, (x, y) => x is >= 8 and < 24 && y is >= 8 and < 24 ? (byte)255 : (byte)0);
        var edges = CannyEdges.Detect(square, 100, 200);
        for (int y = 10; y < 22; y++)
        {
            // The step between columns 7 and 8 has equal magnitude on both sides: OpenCV keeps the left pixel (strict on the left
            // neighbour, non-strict on the right), and on the right side the last pixel inside the square.
            Assert.True(Edge(edges, 7, y), $"left edge at (7,{y})");
            Assert.False(Edge(edges, 8, y), $"no double edge at (8,{y})");
            Assert.True(Edge(edges, 23, y), $"right edge at (23,{y})");
            Assert.False(Edge(edges, 24, y));
            Assert.False(Edge(edges, 15, y), "flat inside");
            Assert.False(Edge(edges, 2, y), "flat outside");
        }
        Assert.All(Enumerable.Range(0, 32 * 32), i => Assert.Equal(edges.Pixels[3 * i], edges.Pixels[3 * i + 2]));
    }

    [Fact]
    public void Canny_Thresholds_AndHysteresis()
    {
        // Two vertical steps: contrast 255 at x=8 (gradient 1020, strong) and contrast 40 at x=24 (gradient 160: weak for 100/200).
        var bars = Filled(40, 20, (x, _) => x < 8 ? (byte)0 : x < 24 ? (byte)255 : (byte)215);
        var strict = CannyEdges.Detect(bars, 100, 200);
        Assert.True(Edge(strict, 7, 10));
        Assert.False(Enumerable.Range(20, 8).Any(x => Edge(strict, x, 10)), "an isolated weak edge is dropped");
        var loose = CannyEdges.Detect(bars, 100, 150);
        Assert.True(Enumerable.Range(20, 8).Any(x => Edge(loose, x, 10)), "above the high threshold it is an edge");
        Assert.Equal(loose.Pixels, CannyEdges.Detect(bars, 150, 100).Pixels);   // reversed thresholds are swapped

        // A weak step joined to a strong one survives through hysteresis: the weak part of a line that is strong elsewhere.
        var joined = Filled(32, 32, (x, y) => x < 16 ? (byte)0 : y < 16 ? (byte)255 : (byte)40);
        var edges = CannyEdges.Detect(joined, 100, 200);
        Assert.True(Edge(edges, 15, 8));
        Assert.True(Edge(edges, 15, 24), "weak (160) pixels connected to the strong part of the line are kept");
        Assert.Throws<InvalidRequestException>(() => CannyEdges.Detect(bars, -1, 10));
    }

    [Fact]
    public void Sketch_DarkOnLight_IsInverted_AndScribbleIsBinary()
    {
        var sketch = Filled(16, 16, (x, _) => x == 5 ? (byte)30 : x == 6 ? (byte)140 : (byte)250);
        var scribble = SketchOps.Scribble(sketch);
        Assert.Equal(255, scribble.Pixels[3 * 5]);
        Assert.Equal(0, scribble.Pixels[3 * 6]);   // 255−140 = 115 ≤ 127
        Assert.Equal(0, scribble.Pixels[3 * 0]);
        Assert.All(scribble.Pixels, v => Assert.True(v is 0 or 255));
        var lineart = SketchOps.Lineart(sketch);
        Assert.Equal([225, 115, 5], new[] { lineart.Pixels[3 * 5], lineart.Pixels[3 * 6], lineart.Pixels[0] });
        var kept = SketchOps.Scribble(sketch, threshold: 100, invert: false);
        Assert.Equal(0, kept.Pixels[3 * 5]);
        Assert.Equal(255, kept.Pixels[3 * 6]);
    }

    [Fact]
    public void Lanczos_SameSizeIsUnchanged_ConstantsStayConstant_AndMirrorsCommute()
    {
        var rng = new Random(3);
        var noise = new RgbImage(37, 23, Enumerable.Range(0, 37 * 23 * 3).Select(_ => (byte)rng.Next(256)).ToArray());
        Assert.Same(noise, LanczosResize.Resize(noise, 37, 23));
        var flat = Filled(50, 30, (_, _) => 77);
        Assert.All(LanczosResize.Resize(flat, 17, 64).Pixels, v => Assert.Equal(77, v));

        static RgbImage Mirror(RgbImage im)
        {
            var p = new byte[im.Pixels.Length];
            for (int y = 0; y < im.Height; y++)
                for (int x = 0; x < im.Width; x++)
                    for (int c = 0; c < 3; c++)
                        p[3 * (y * im.Width + x) + c] = im.Pixels[3 * (y * im.Width + im.Width - 1 - x) + c];
            return new RgbImage(im.Width, im.Height, p);
        }
        Assert.Equal(Mirror(LanczosResize.Resize(noise, 16, 40)).Pixels, LanczosResize.Resize(Mirror(noise), 16, 40).Pixels);

        // Lanczos overshoots at a hard step (ringing, clipped to 0/255) — unlike a box or bilinear filter.
        var step = Filled(8, 4, (x, _) => x < 4 ? (byte)60 : (byte)200);
        var up = LanczosResize.Resize(step, 32, 4);
        Assert.True(up.Pixels.Where((_, i) => i % 3 == 0).Min() < 60, "undershoot before the step");
    }
}

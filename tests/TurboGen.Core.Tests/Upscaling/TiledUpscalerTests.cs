using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Imaging;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Upscaling;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Graphs.AutoencoderTestSupport;

namespace TurboGen.Core.Tests.Upscaling;

public sealed class TiledUpscalerTests
{
    private static RgbImage Pattern(int w, int h, int seed = 3)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
            px[(y * w + x) * 3 + c] = (byte)Math.Clamp(128 + 90 * Math.Sin((x + 2 * c) * 0.31 + y * 0.17) + rng.Next(-20, 21), 0, 255);
        return new RgbImage(w, h, px);
    }

    /// <summary>A per-pixel "network" (nearest ×s, then a colour map): any correct tiling and blending reproduces its untiled output exactly.</summary>
    private static FloatTensor Nearest(FloatTensor x, int s)
    {
        int h = (int)x.Shape[2], w = (int)x.Shape[3];
        var y = new float[3 * h * s * w * s];
        for (int c = 0; c < 3; c++)
        for (int j = 0; j < h * s; j++)
        for (int i = 0; i < w * s; i++)
            y[(c * h * s + j) * w * s + i] = 1f - x.Data[(c * h + j / s) * w + i / s];
        return new FloatTensor(y, [1, 3, h * s, w * s]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 1)]
    [InlineData(2, 2)]
    public void PixelwiseNetwork_TiledEqualsUntiledExactly(int scale, int multiple)
    {
        var image = Pattern(53, 37);
        var whole = TiledUpscaler.Run(image, scale, multiple, new TileOptions { Tile = 2048, Overlap = 0, Padding = 0 }, (t, _) => Nearest(t, scale));
        int runs = 0;
        var reported = new List<(int, int)>();
        var options = new TileOptions { Tile = 16, Overlap = 4, Padding = 0 };
        var tiled = TiledUpscaler.Run(image, scale, multiple, options, (t, _) => { runs++; return Nearest(t, scale); }, progress: new SyncProgress<(int, int)>(reported));
        // One report per network run, on the calling thread, counting up to the tile count.
        Assert.Equal(runs, TiledUpscaler.TileCount(image.Width, image.Height, multiple, options));
        Assert.Equal(Enumerable.Range(1, runs).Select(i => (i, runs)), reported);
        Assert.True(runs > 4, $"{runs} tiles");
        Assert.Equal(image.Width * scale, tiled.Width);
        Assert.Equal(image.Height * scale, tiled.Height);
        Assert.Equal(whole.Pixels, tiled.Pixels);
        Assert.Equal(255 - image.Pixels[0], whole.Pixels[0]);
    }

    [Fact]
    public void TilePlan_CoversEverySideWithOverlapsAndAlignedStarts()
    {
        foreach (int length in new[] { 1, 15, 16, 17, 40, 97, 1000 })
        {
            var spans = TilePlan.Spans(length, 16, 4, 2);
            Assert.Equal(0, spans[0].Start);
            Assert.Equal(length, spans[^1].End);
            for (int i = 1; i < spans.Count; i++)
            {
                Assert.Equal(0, spans[i].Start % 2);
                Assert.True(spans[i].Start <= spans[i - 1].End - 4, $"seam {i} of {length} overlaps less than 4");
                Assert.Equal(spans[i - 1].End - spans[i].Start, spans[i].OverlapBefore);
                Assert.Equal(spans[i].OverlapBefore, spans[i - 1].OverlapAfter);
                // the two ramps over a seam sum to 1
                for (int k = 0; k < spans[i].OverlapBefore; k++)
                {
                    float a = TilePlan.Weight(spans[i - 1], spans[i].Start - spans[i - 1].Start + k), b = TilePlan.Weight(spans[i], k);
                    Assert.Equal(1f, a + b, 1e-5f);
                }
            }
        }
    }

    [Theory]
    [InlineData("esrgan_rrdbnet_tiny", 4, 36)]
    [InlineData("esrgan_rrdbnet_x2_tiny", 2, 68)]
    public void GoldenEsrgan_TiledWithContextEqualsUntiled(string caseName, int scale, int padding)
    {
        // With context padding at least the receptive field (2 RRDBs = 32 convs at the trunk's resolution, then the
        // up-path), every tile's core is computed exactly as in the whole image; the blend of equal values is that value.
        using var weights = new SafetensorsCheckpoint(Path.Combine(TestPaths.GoldenCase(caseName), "model.safetensors"));
        var config = RrdbNetConfig.Infer(weights);
        using var session = Session(RrdbNet.Build(config, weights));
        FloatTensor Net(FloatTensor t, CancellationToken _)
        {
            var (data, shape) = Run(session, RrdbNet.InputName, t.Data, t.Shape, RrdbNet.OutputName);
            return new FloatTensor(data, shape);
        }
        var image = Pattern(70, 46);
        var whole = TiledUpscaler.Run(image, scale, config.InputMultiple, new TileOptions { Tile = 2048, Overlap = 0, Padding = 0 }, Net);
        var tiled = TiledUpscaler.Run(image, scale, config.InputMultiple, new TileOptions { Tile = 24, Overlap = 8, Padding = padding }, Net);
        int maxDiff = whole.Pixels.Zip(tiled.Pixels, (a, b) => Math.Abs(a - b)).Max();
        Assert.InRange(maxDiff, 0, 1);

        // Without context the seams differ, but the feathered blend keeps the tiled image close to the whole one.
        var noContext = TiledUpscaler.Run(image, scale, config.InputMultiple, new TileOptions { Tile = 24, Overlap = 8, Padding = 0 }, Net);
        double mean = whole.Pixels.Zip(noContext.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.InRange(mean, 0.0, 12.0);
    }

    [Fact]
    public void Lanczos_KeepsFlatColour_AndHitsTheSize()
    {
        var flat = new RgbImage(7, 5, Enumerable.Repeat((byte)77, 7 * 5 * 3).ToArray());
        var up = LanczosResampler.Resize(flat, 29, 13);
        Assert.Equal(29, up.Width);
        Assert.Equal(13, up.Height);
        Assert.All(up.Pixels, p => Assert.Equal(77, p));
        var down = LanczosResampler.ResizeCover(Pattern(64, 48), 20, 20);
        Assert.Equal((20, 20), (down.Width, down.Height));
    }

    [Fact]
    public void EsrganModel_BuildsOnceIntoTheCache_AndUpscalesWithAnyUpscalerSize()
    {
        string cache = Path.Combine(Path.GetTempPath(), $"turbogen-esrgan-cache-{Guid.NewGuid():N}");
        try
        {
            string checkpoint = TinyEsrgan.Get(4);
            var lines = new List<string>();
            var progress = new SyncProgress<string>(lines);
            using (var model = EsrganModel.Load(checkpoint, cacheRoot: cache, progress: progress))
            {
                Assert.Equal(4, model.Scale);
                Assert.Equal(TinyEsrgan.X4, model.Config);
                using var upscaler = new EsrganUpscaler(model, new TileOptions { Tile = 32, Overlap = 8, Padding = 8 });
                var result = upscaler.Upscale(Pattern(50, 30), 150, 90);
                Assert.Equal((150, 90), (result.Width, result.Height));
                Assert.Equal("RealESRGAN_x4plus_tiny", upscaler.Name);

                // Two passes (20×12 → 80×48 → 320×192): the tiles are counted over both, in order.
                var reported = new List<(int, int)>();
                result = upscaler.Upscale(Pattern(20, 12), 320, 192, progress: new SyncProgress<(int, int)>(reported));
                Assert.Equal((320, 192), (result.Width, result.Height));
                int total = TiledUpscaler.TileCount(20, 12, model.InputMultiple, upscaler.Tiles) + TiledUpscaler.TileCount(80, 48, model.InputMultiple, upscaler.Tiles);
                Assert.True(total > 2, $"{total} tiles");
                Assert.Equal(Enumerable.Range(1, total).Select(i => (i, total)), reported);
            }
            using (var again = EsrganModel.Load(checkpoint, cacheRoot: cache, progress: progress))
            {
                Assert.Equal(4, again.Scale);
            }
            Assert.Contains(lines, l => l.StartsWith("building", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("using the cached build", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void Limits_NameTheField()
    {
        Assert.Equal("image", Assert.Throws<InvalidRequestException>(() => UpscaleLimits.Target(20000, 20000, 2)).Parameter);
        Assert.Equal("scale", Assert.Throws<InvalidRequestException>(() => UpscaleLimits.Target(512, 512, 8)).Parameter);
        Assert.Equal("scale", Assert.Throws<InvalidRequestException>(() => UpscaleLimits.Target(4000, 100, 4)).Parameter);
        Assert.Equal((2048, 1024), UpscaleLimits.Target(512, 256, 4));
    }

    private sealed class SyncProgress<T>(List<T> values) : IProgress<T>
    {
        public void Report(T value) => values.Add(value);
    }
}

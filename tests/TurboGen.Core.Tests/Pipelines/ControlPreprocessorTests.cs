using TurboGen.Graphs;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;

namespace TurboGen.Core.Tests.Pipelines;

/// <summary>Preprocessor modules by name, and the plumbing of a user-supplied ONNX preprocessor (a tiny model built here).</summary>
public sealed class ControlPreprocessorTests
{
    [Fact]
    public void Modules_ByName()
    {
        var image = new RgbImage(16, 16, Enumerable.Range(0, 16 * 16 * 3).Select(i => (byte)(i / 3 % 16 < 8 ? 0 : 255)).ToArray());
        Assert.Same(image, ControlPreprocessor.Apply("none", image));
        Assert.Equal(CannyEdges.Detect(image, 50, 60).Pixels, ControlPreprocessor.Apply("Canny", image, 50, 60).Pixels);
        Assert.Equal(SketchOps.Scribble(image).Pixels, ControlPreprocessor.Apply("scribble", image).Pixels);
        var e = Assert.Throws<InvalidRequestException>(() => ControlPreprocessor.Apply("openpose_full", image));
        Assert.Equal("module", e.Parameter);
        Assert.Contains("openpose_full", e.Message);
        Assert.Throws<InvalidRequestException>(() => ControlPreprocessor.Apply("depth", image));
    }

    [Fact]
    public void OnnxPreprocessor_NormalisesTheInput_AndScalesTheMapByItsRange()
    {
        // A tiny "depth" model: predicted_depth[1,h,w] = mean over channels of the normalised input.
        var g = new GraphBuilder("tiny-depth");
        var x = g.Input("pixel_values", ElementType.Float, 1, 3, "height", "width");
        var y = g.Op("ReduceMean", [x], ("axes", new long[] { 1 }), ("keepdims", 0L));
        g.Output(y, "predicted_depth", ElementType.Float, 1, "height", "width");
        string dir = TestPaths.NewTempDir("preprocessor");
        try
        {
            string path = Path.Combine(dir, "depth.onnx");
            File.WriteAllBytes(path, g.ToBytes());
            using var model = PreprocessorModel.Load(path, new PreprocessorModelOptions { InputSize = 24, SizeMultiple = 8, Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] });
            // A horizontal ramp 0..255 in red only: the mean is monotone in x, so the map is a ramp 0..255 too.
            var image = new RgbImage(24, 24, Enumerable.Range(0, 24 * 24).SelectMany(i => new[] { (byte)(i % 24 * 255 / 23), (byte)0, (byte)0 }).ToArray());
            var map = ControlPreprocessor.Apply("model", image, model: model);
            Assert.Equal((24, 24), (map.Width, map.Height));
            Assert.Equal(0, map.Pixels[0]);
            Assert.Equal(255, map.Pixels[3 * 23]);
            for (int xx = 0; xx < 24; xx++)
            {
                int expected = (int)Math.Round(xx * 255 / 23 / 255.0 * 255);
                Assert.InRange(map.Pixels[3 * xx], expected - 1, expected + 1);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void OnnxPreprocessor_WithTheWrongInputs_IsRefused()
    {
        var g = new GraphBuilder("bad");
        var x = g.Input("a", ElementType.Float, 1, 4);
        g.Output(g.Relu(x), "b", ElementType.Float, 1, 4);
        string dir = TestPaths.NewTempDir("preprocessor-bad");
        try
        {
            string path = Path.Combine(dir, "bad.onnx");
            File.WriteAllBytes(path, g.ToBytes());
            var e = Assert.Throws<ModelContractException>(() => PreprocessorModel.Load(path));
            Assert.Contains("one image input [1,3,H,W]", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

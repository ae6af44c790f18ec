using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Graphs.AutoencoderTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>RRDBNet (ESRGAN) against BasicSR's outputs: the ×4 case and the ×2 case (pixel-unshuffle), ≤ 1e-4 relative.</summary>
public sealed class RrdbNetTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("esrgan_rrdbnet_tiny", 4, 100307L)]
    [InlineData("esrgan_rrdbnet_x2_tiny", 2, 101603L)]
    public void Config_IsInferredFromTheCheckpointShapes(string caseName, int scale, long parameters)
    {
        using var weights = new SafetensorsCheckpoint(Path.Combine(TestPaths.GoldenCase(caseName), "model.safetensors"));
        var config = RrdbNetConfig.Infer(weights);
        Assert.Equal(new RrdbNetConfig(3, 3, scale, 16, 2, 8), config);
        Assert.Equal(parameters, config.ParameterCount); // case.json num_parameters
        Assert.Equal(weights.Names.Order(StringComparer.Ordinal), RrdbNet.ExpectedTensors(config).Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("esrgan_rrdbnet_tiny", 4)]
    [InlineData("esrgan_rrdbnet_x2_tiny", 2)]
    public void Outputs_MatchBasicSr_SquareAndNonSquare(string caseName, int scale)
    {
        string dir = TestPaths.GoldenCase(caseName);
        using var weights = new SafetensorsCheckpoint(Path.Combine(dir, "model.safetensors"));
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
        using var session = Session(RrdbNet.Build(RrdbNetConfig.Infer(weights), weights));
        Assert.Equal([RrdbNet.InputName], session.InputMetadata.Keys);
        Assert.Equal([RrdbNet.OutputName], session.OutputMetadata.Keys);
        foreach (var (input, output) in new[] { ("image", "output"), ("image_nonsquare", "output_nonsquare") })
        {
            long[] shape = inputs.Shape(input);
            var (actual, actualShape) = Run(session, RrdbNet.InputName, inputs.Float(input), shape, RrdbNet.OutputName);
            Assert.Equal([1L, 3, shape[2] * scale, shape[3] * scale], actualShape);
            Assert.Equal(outputs.Shape(output), actualShape);
            Assert.InRange(GoldenTensors.RelativeError(actual, outputs.Float(output)), 0, Tolerance);
        }
    }

    [Fact]
    public void ParamsEmaWrapper_IsUnwrapped_AndPreferredOverParams()
    {
        string dir = TestPaths.GoldenCase("esrgan_rrdbnet_tiny");
        using var plain = new SafetensorsCheckpoint(Path.Combine(dir, "model.safetensors"));
        string wrapped = Path.Combine(Path.GetTempPath(), $"esrgan-wrapped-{Guid.NewGuid():N}.safetensors");
        try
        {
            // params_ema holds the real weights; params holds zeros (a training copy that must not be used).
            var tensors = plain.Names.SelectMany(n => new[]
            {
                SafetensorsWriter.Tensor.FromArray("params_ema." + n, SafetensorsDType.F32, plain.Shape(n), plain.ReadFloat32(n)),
                SafetensorsWriter.Tensor.FromArray("params." + n, SafetensorsDType.F32, plain.Shape(n), new float[plain.ReadFloat32(n).Length]),
            }).ToList();
            SafetensorsWriter.Write(wrapped, tensors);
            using var file = new SafetensorsCheckpoint(wrapped);
            Assert.Equal("params_ema.", EsrganCheckpoint.WrapperPrefix(file));
            var view = EsrganCheckpoint.Unwrap(file);
            var config = RrdbNetConfig.Infer(view);
            using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
            using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
            using var session = Session(RrdbNet.Build(config, view));
            var (actual, _) = Run(session, RrdbNet.InputName, inputs.Float("image"), inputs.Shape("image"), RrdbNet.OutputName);
            Assert.InRange(GoldenTensors.RelativeError(actual, outputs.Float("output")), 0, Tolerance);
        }
        finally
        {
            File.Delete(wrapped);
        }
    }

    [Fact]
    public void WrongShapes_AndForeignCheckpoints_FailNamingTheTensor()
    {
        string dir = TestPaths.GoldenCase("esrgan_rrdbnet_tiny");
        using var weights = new SafetensorsCheckpoint(Path.Combine(dir, "model.safetensors"));
        var wrong = RrdbNetConfig.Infer(weights) with { NumGrowChannels = 12 };
        var e = Assert.Throws<ModelLoadException>(() => RrdbNet.Build(wrong, weights));
        Assert.Contains("body.0.rdb1.conv1.weight is [8,16,3,3], expected [12,16,3,3]", e.Message);

        string taesd = Path.Combine(TestPaths.GoldenCase("taesd"), "diffusion_pytorch_model.safetensors");
        using var other = new SafetensorsCheckpoint(taesd);
        var e2 = Assert.Throws<ModelLoadException>(() => RrdbNetConfig.Infer(EsrganCheckpoint.Unwrap(other)));
        Assert.Contains("'conv_first.weight' is missing", e2.Message);
    }
}

using TurboGen.Benchmarking;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures;
using TurboGen.Graphs;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// FLOP counts of the full-size built graphs at 512², 1 step, batch 1, against the published analytic figures
/// (SDXL UNet ≈ 1.59 TFLOP, SD-Turbo UNet ≈ 0.80, full VAE decoder ≈ 2.51, TAESD decoder ≈ 0.14, text encoders
/// ≈ 0.11 SDXL / 0.05 SD-Turbo), ±5 %. The graphs are built from sparse (all-zero, never read) checkpoints with the exact
/// shapes, so this takes seconds.
/// </summary>
public sealed class GraphFlopsTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-flops");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(ModelFamily.Sdxl, 1.59)]
    [InlineData(ModelFamily.Sd, 0.80)]
    public void Unet512_MatchesTheAnalyticCount(ModelFamily family, double expectedTflop)
    {
        var configs = KnownConfigs.For(family);
        var config = UnetConfig.FromJson(configs.UnetConfigJson);
        using var weights = Sparse("unet", UnetCheckpointLayout.Tensors(config));
        var graph = Unet2DConditionModel.Build(config, weights);
        var shapes = new Dictionary<string, long[]>
        {
            ["sample"] = [1, 4, 64, 64],
            ["timestep"] = [],
            ["encoder_hidden_states"] = [1, 77, config.CrossAttentionDim],
            ["text_embeds"] = [1, 1280],
            ["time_ids"] = [1, 6],
        };
        var count = GraphFlops.Count(graph, shapes);
        Report(family + " unet", count);
        Assert.True(count.IsComplete, string.Join(", ", count.Uncounted));
        AssertWithin(expectedTflop, count.Teraflops);
        Assert.True(count.ByOp["Conv"] > 0 && count.ByOp["MatMul"] > 0);
    }

    [Theory]
    [InlineData(ModelFamily.Sdxl)]
    [InlineData(ModelFamily.Sd)]
    public void VaeDecoder512_MatchesTheAnalyticCount(ModelFamily family)
    {
        var config = AutoencoderKlConfig.FromJson(KnownConfigs.For(family).VaeConfigJson);
        using var weights = Sparse("vae", AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Decoder).Select(kv => (kv.Key, kv.Value)));
        var count = GraphFlops.Count(AutoencoderKl.BuildDecoder(config, weights), new Dictionary<string, long[]> { ["latent_sample"] = [1, 4, 64, 64] });
        Report(family + " vae decoder", count);
        Assert.True(count.IsComplete, string.Join(", ", count.Uncounted));
        AssertWithin(2.51, count.Teraflops);
    }

    [Fact]
    public void TinyVaeDecoder512_MatchesTheAnalyticCount()
    {
        var config = AutoencoderTinyConfig.FromJson(RandomCheckpoint.TaesdConfigJson);
        using var weights = Sparse("taesd", AutoencoderTiny.ExpectedTensors(config, AutoencoderPart.Decoder).Select(kv => (kv.Key, kv.Value)));
        var count = GraphFlops.Count(AutoencoderTiny.BuildDecoder(config, weights), new Dictionary<string, long[]> { ["latent_sample"] = [1, 4, 64, 64] });
        Report("taesd decoder", count);
        Assert.True(count.IsComplete, string.Join(", ", count.Uncounted));
        AssertWithin(0.14, count.Teraflops);
        Assert.Equal(["Conv"], count.ByOp.Keys);
    }

    [Theory]
    [InlineData(ModelFamily.Sdxl, 0.11)]
    [InlineData(ModelFamily.Sd, 0.05)]
    public void TextEncoders_MatchTheAnalyticCount(ModelFamily family, double expectedTflop)
    {
        var configs = KnownConfigs.For(family);
        double total = 0;
        int index = 0;
        foreach (var (json, projection) in new[] { (configs.TextEncoderConfigJson, false), (configs.TextEncoder2ConfigJson, true) })
        {
            if (json is null) continue;
            var config = ClipTextConfig.FromJson(json);
            using var weights = Sparse($"text{index++}", ClipTextModel.ExpectedTensors(config, projection));
            var graph = ClipTextModel.Build(config, weights, new ClipTextBuildOptions { WithProjection = projection, OutputHiddenStates = true, InputIdsType = ElementType.Int64 });
            var count = GraphFlops.Count(graph, new Dictionary<string, long[]> { ["input_ids"] = [1, 77] });
            Report($"{family} text encoder {index}", count);
            Assert.True(count.IsComplete, string.Join(", ", count.Uncounted));
            total += count.Teraflops;
        }
        if (family == ModelFamily.Sd)
        {
            // SD 2.x runs 23 of OpenCLIP-H's 24 layers (penultimate hidden state): per layer 77 tokens × 2·(4·1024² + 2·1024·4096)
            // projection/MLP FLOPs + 2·2·77²·1024 attention = 45.1 GFLOP in all, which the published "≈ 0.05" rounds up:
            // check the exact formula to 1 % and the one-digit figure by its rounding interval.
            double perLayer = 77.0 * 2 * (4 * 1024 * 1024 + 2 * 1024 * 4096) + 2.0 * 2 * 77 * 77 * 1024;
            Assert.InRange(total, 23 * perLayer / 1e12 * 0.99, 23 * perLayer / 1e12 * 1.01);
            Assert.InRange(total, 0.045, 0.055);
        }
        else
        {
            AssertWithin(expectedTflop, total);
        }
    }

    [Fact]
    public void MatMul_CountsBroadcastBatches_AndShapeArithmeticFeedsReshape()
    {
        var g = new GraphBuilder("t");
        var a = g.Input("a", ElementType.Float, "b", 3, 8);
        var w = g.Weight("w", new float[8 * 5], 8, 5);
        var y = g.MatMul(a, w);                                     // [b,3,5]: 2·b·3·8·5
        var back = g.Op("Reshape", [y, g.Op("Shape", [y])]);       // value-propagated target shape
        var t = g.Transpose(back, 0, 2, 1);                         // [b,5,3]
        var z = g.MatMul(t, back);                                  // [b,5,5]: 2·b·5·3·5
        g.Output(z, "z", ElementType.Float, "b", 5, 5);
        var count = GraphFlops.Count(g, new Dictionary<string, long[]> { ["a"] = [2, 3, 8] });
        Assert.True(count.IsComplete);
        Assert.Equal(2L * 2 * 3 * 8 * 5 + 2L * 2 * 5 * 3 * 5, count.Total);
        Assert.Equal(2, count.CountedNodes);
    }

    [Fact]
    public void UnknownInputShape_IsReportedAsUncounted()
    {
        var g = new GraphBuilder("t");
        var a = g.Input("a", ElementType.Float, "b", 8);
        g.Output(g.MatMul(a, g.Weight("w", new float[8 * 2], 8, 2)), "y", ElementType.Float, "b", 2);
        var count = GraphFlops.Count(g, new Dictionary<string, long[]>());
        Assert.False(count.IsComplete);
        Assert.Equal(0, count.Total);
    }

    private static void AssertWithin(double expected, double actual) =>
        Assert.True(Math.Abs(actual - expected) <= 0.05 * expected, $"{actual:F4} TFLOP is not within 5 % of {expected} TFLOP");

    private void Report(string what, FlopCount count) =>
        log.WriteLine($"{what}: {count.Teraflops:F4} TFLOP ({string.Join(", ", count.ByOp.Select(kv => $"{kv.Key} {kv.Value / 1e9:F1} G"))})");

    /// <summary>A safetensors file with these names and shapes whose data is a sparse hole (no bytes written, never read).</summary>
    private SafetensorsCheckpoint Sparse(string name, IEnumerable<(string Name, long[] Shape)> tensors)
    {
        string path = Path.Combine(_dir, name + ".safetensors");
        SafetensorsWriter.Write(path, tensors.Select(t => new SafetensorsWriter.Tensor(t.Name, SafetensorsDType.F16, t.Shape, s =>
        {
            long bytes = TensorShape.ElementCount(t.Shape) * 2;
            s.SetLength(s.Position + bytes);
            s.Seek(bytes, SeekOrigin.Current);
        })));
        return new SafetensorsCheckpoint(path);
    }
}

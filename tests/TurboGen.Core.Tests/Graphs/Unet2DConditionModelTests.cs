using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;
using static TurboGen.Core.Tests.Graphs.UnetTestSupport;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// The SDXL / SD 2.1 UNet against the golden <c>unet_sdxl_tiny</c> and <c>unet_sd21_tiny</c>: every timestep input form, 1×1-conv
/// projections, odd latent sizes, and the Optimum export's input/output names, dtypes and dynamic axes.
/// </summary>
public sealed class Unet2DConditionModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void VectorFloatTimestep_MatchesGolden(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        using var session = NewSession(graph.ToBytes());

        float[] actual = Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat));

        AssertClose(output, golden.Expected, actual, caseName);
    }

    [Theory]
    [InlineData(Sdxl)]
    [InlineData(Sd21)]
    public void ScalarTimestep_MatchesGoldenItemByItem(string caseName)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint);   // default: rank-0 float
        using var session = NewSession(graph.ToBytes());

        var inputs = golden.Inputs();
        float[] timesteps = golden.Reader.Float("timestep");
        int batch = timesteps.Length;
        int itemSize = golden.Expected.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            var item = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Item(b, batch));
            float[] actual = Run(session, item, Tensor.Of([timesteps[b]]));
            AssertClose(output, golden.Expected.AsSpan(b * itemSize, itemSize).ToArray(), actual, $"{caseName} item {b}");
        }
    }

    [Fact]
    public void Int64Timestep_MatchesGolden_AndBroadcastsASingleStep()
    {
        using var golden = GoldenCase.Open(Sdxl);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = TimestepInput.VectorInt64 });
        using var session = NewSession(graph.ToBytes());
        Assert.Equal(typeof(long), session.InputMetadata["timestep"].ElementType);

        long[] steps = golden.Reader.Float("timestep").Select(t => (long)t).ToArray();
        Assert.Equal(new long[] { 999, 499 }, steps);
        float[] actual = Run(session, golden.Inputs(), Tensor.OfInt64(steps, [steps.Length]));
        AssertClose(output, golden.Expected, actual, "int64 [2]");

        // A single step [1] is broadcast to the batch: item 0 (timestep 999) must still match.
        float[] broadcast = Run(session, golden.Inputs(), Tensor.OfInt64([steps[0]], [1]));
        int itemSize = golden.Expected.Length / 2;
        AssertClose(output, golden.Expected.AsSpan(0, itemSize).ToArray(), broadcast.AsSpan(0, itemSize).ToArray(), "int64 [1] broadcast");
        Assert.True(GoldenTensors.RelativeError(broadcast.AsSpan(itemSize), golden.Expected.AsSpan(itemSize)) > 1e-2,
            "item 1 ran at timestep 999 instead of 499, so it must differ from the golden item 1");
    }

    // ---- projections and latent sizes ----------------------------------------------------------------

    [Fact]
    public void ConvProjection_IsEquivalentToLinearProjection()
    {
        // use_linear_projection=false stores proj_in/proj_out as 1×1 convs [C,C,1,1]; the same numbers must give the same UNet.
        using var golden = GoldenCase.Open(Sd21);
        using var checkpoint = golden.Checkpoint();
        var convConfig = golden.Config with { UseLinearProjection = false };
        var asConv = new ProjectionAsConvCheckpoint(checkpoint);
        var graph = Unet2DConditionModel.Build(convConfig, asConv, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        Assert.Contains(graph.Nodes, n => n.OpType == "Conv" && n.Name.Contains("proj_in", StringComparison.Ordinal));
        using var session = NewSession(graph.ToBytes());

        AssertClose(output, golden.Expected, Run(session, golden.Inputs(), golden.TimestepValue(TimestepInput.VectorFloat)), "conv projection");
    }

    [Fact]
    public void OddLatentSize_UpsamplesToTheSkipSize()
    {
        // 15×13 latents: the ×2 upsample of ceil(15/2)=8 must be cut to 15 like diffusers' forwarded upsample_size.
        var config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(Sd21), "config.json")));
        var checkpoint = RandomUnetCheckpoint.ForConfig(config, seed: 7);
        using var session = NewSession(Unet2DConditionModel.Build(config, checkpoint).ToBytes());
        var inputs = new Dictionary<string, Tensor>
        {
            ["sample"] = Tensor.Random([1, 4, 15, 13], 1),
            ["encoder_hidden_states"] = Tensor.Random([1, 77, config.CrossAttentionDim], 2),
        };
        using var results = RunRaw(session, inputs, Tensor.Of([500f]));
        Assert.Equal([1L, 4, 15, 13], results[0].GetTensorTypeAndShape().Shape);
        Assert.All(results[0].GetTensorDataAsSpan<float>().ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    // ---- I/O contract --------------------------------------------------------------------------------

    [Theory]
    [InlineData(Sdxl, TimestepInput.ScalarFloat)]
    [InlineData(Sdxl, TimestepInput.VectorFloat)]
    [InlineData(Sd21, TimestepInput.VectorInt64)]
    public void Io_MatchesTheOptimumExport(string caseName, TimestepInput timestep)
    {
        using var golden = GoldenCase.Open(caseName);
        using var checkpoint = golden.Checkpoint();
        var graph = Unet2DConditionModel.Build(golden.Config, checkpoint, new UnetBuildOptions { Timestep = timestep });
        using var session = NewSession(graph.ToBytes());

        var expectedNames = golden.Config.HasTextTimeEmbedding
            ? new[] { "sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids" }
            : new[] { "sample", "timestep", "encoder_hidden_states" };
        Assert.Equal(expectedNames, session.InputNames);
        Assert.Equal(["out_sample"], session.OutputNames);

        var meta = session.InputMetadata;
        Assert.Equal([-1, 4, -1, -1], meta["sample"].Dimensions);
        Assert.Equal(["batch", "", "height", "width"], meta["sample"].SymbolicDimensions);
        Assert.Equal(timestep == TimestepInput.ScalarFloat ? 0 : 1, meta["timestep"].Dimensions.Length);
        Assert.Equal(timestep == TimestepInput.VectorInt64 ? typeof(long) : typeof(float), meta["timestep"].ElementType);
        Assert.Equal([-1, -1, golden.Config.CrossAttentionDim], meta["encoder_hidden_states"].Dimensions);
        if (golden.Config.HasTextTimeEmbedding)
        {
            Assert.Equal([-1, 32], meta["text_embeds"].Dimensions);
            Assert.Equal([-1, 6], meta["time_ids"].Dimensions);
        }
        Assert.Equal([-1, 4, -1, -1], session.OutputMetadata["out_sample"].Dimensions);
    }

    /// <summary>Presents linear proj_in/proj_out weights [C,C] as 1×1 conv weights [C,C,1,1] (same bytes).</summary>
    private sealed class ProjectionAsConvCheckpoint(ICheckpointTensors inner) : ICheckpointTensors
    {
        private static bool IsProjection(string name) =>
            name.EndsWith(".proj_in.weight", StringComparison.Ordinal) || name.EndsWith(".proj_out.weight", StringComparison.Ordinal);

        public string Source => inner.Source;
        public IEnumerable<string> Names => inner.Names;
        public IReadOnlyCollection<string> Used => inner.Used;
        public bool Contains(string name) => inner.Contains(name);
        public long[] Shape(string name) => IsProjection(name) ? [.. inner.Shape(name), 1, 1] : inner.Shape(name);
        public WeightData Float32(string name) => inner.Float32(name);
        public WeightData Float32Transposed(string name) => inner.Float32Transposed(name);
        public float[] ReadFloat32(string name) => inner.ReadFloat32(name);
    }
}

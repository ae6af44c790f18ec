using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// "Parameters declared where they are used": each UNet block's <c>Declare</c> (what the checkpoint check compares with) must list
/// exactly the tensors its <c>Forward</c> reads. Each block is built alone from a checkpoint holding exactly its declared tensors;
/// a tensor read but not declared fails the build (<see cref="Nn.Declared"/>), a tensor declared but not read fails the comparison.
/// </summary>
public sealed class DeclaredTensorsTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("declared");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> UnetCases => new() { "unet_sd21_tiny", "unet_sdxl_tiny", "unet_lcm_tiny", "unet_onlycross_tiny", "unet_sd15_tiny", "unet_sdxs_tiny" };

    [Theory]
    [MemberData(nameof(UnetCases))]
    public void EveryUnetBlock_ReadsExactlyTheTensorsItDeclares(string caseName)
    {
        var config = UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json")));
        int checkedBlocks = 0;
        foreach (var spec in config.DownBlocks())
        {
            AssertReadsExactlyDeclared(t => DownBlock2D.Declare(t, config, spec), (nn, i) => spec.HasCrossAttention
                ? new CrossAttnDownBlock2D(nn, config, spec).Forward(i.X, i.Temb, i.Context, i.Skips)
                : new DownBlock2D(nn, config, spec).Forward(i.X, i.Temb, i.Skips));
            checkedBlocks++;
        }
        if (config.MidBlock() is { } mid)
        {
            AssertReadsExactlyDeclared(t => UNetMidBlock2DCrossAttn.Declare(t, config, mid), (nn, i) => new UNetMidBlock2DCrossAttn(nn, config, mid).Forward(i.X, i.Temb, i.Context));
            checkedBlocks++;
        }
        foreach (var spec in config.UpBlocks())
        {
            AssertReadsExactlyDeclared(t => UpBlock2D.Declare(t, config, spec), (nn, i) => spec.HasCrossAttention
                ? new CrossAttnUpBlock2D(nn, config, spec).Forward(i.X, i.Temb, i.Context, i.Skips)
                : new UpBlock2D(nn, config, spec).Forward(i.X, i.Temb, i.Skips));
            checkedBlocks++;
        }
        Assert.True(checkedBlocks >= 4, $"{caseName}: only {checkedBlocks} blocks");
    }

    [Theory]
    [InlineData("controlnet_sd21_tiny")]
    [InlineData("controlnet_sdxl_tiny")]
    public void ControlNetBlocks_ReadExactlyTheTensorsTheyDeclare(string caseName)
    {
        var config = ControlNetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json")));
        AssertReadsExactlyDeclared(t => ControlNetConditioningEmbedding.Declare(t, config), (nn, i) => new ControlNetConditioningEmbedding(nn, config).Forward(i.X));
        int skips = config.Unet.SkipChannels().Count;
        AssertReadsExactlyDeclared(t => ControlNetZeroConvs.Declare(t, config), (nn, i) =>
        {
            var zero = new ControlNetZeroConvs(nn, config);
            zero.Down(i.Skips.Take(skips).ToList(), i.Temb);
            return zero.Mid(i.X, i.Temb);
        });
    }

    [Theory]
    [InlineData(null)]
    [InlineData(6L)]
    public void TimestepEmbedding_ReadsExactlyTheTensorsItDeclares(long? conditionFeatures)
    {
        AssertReadsExactlyDeclared(t => TimestepEmbedding.Declare(t, "time_embedding", 8, 32, conditionFeatures),
            (nn, i) => new TimestepEmbedding(nn, "time_embedding").Forward(i.X, conditionFeatures is null ? null : i.Context));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Transformer2DModel_ReadsExactlyTheTensorsItDeclares(bool linearProjection, bool onlyCrossAttention)
    {
        AssertReadsExactlyDeclared(t => Transformer2DModel.Declare(t, "attn", 8, 2, 12, linearProjection, onlyCrossAttention),
            (nn, i) => new Transformer2DModel(nn, "attn", 2, 2, 4, linearProjection, onlyCrossAttention).Forward(i.X, i.Context));
    }

    [Fact]
    public void ADeclarationThatOmitsATensorTheBlockReads_FailsTheBuild_NamingTensorAndFile()
    {
        // ResnetBlock2D 8 → 16 reads conv_shortcut; a layout without it must stop the build at that read.
        var full = new TensorLayout();
        ResnetBlock2D.Declare(full, "r", 8, 16, 32);
        var partial = new TensorLayout();
        foreach (var (name, shape) in full.Tensors.Where(x => !x.Name.StartsWith("r.conv_shortcut.", StringComparison.Ordinal))) partial.Add(name, shape);
        string path = WriteCheckpoint(full);
        using var weights = new SafetensorsCheckpoint(path);
        var g = new GraphBuilder("block");
        var nn = new Nn(g, weights) { Declared = partial };
        var x = g.Input("x", ElementType.Float, 1, 8, 4, 4);
        var temb = g.Input("temb", ElementType.Float, 1, 32);
        var e = Assert.Throws<ModelLoadException>(() => new ResnetBlock2D(nn, "r", 4, 1e-5f).Forward(x, temb));
        Assert.Contains("'r.conv_shortcut.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("not declared", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADeclarationListingATensorTheBlockDoesNotRead_IsCaught()
    {
        // The comparison these tests rely on must see an extra declared tensor.
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertReadsExactlyDeclared(t =>
        {
            ResnetBlock2D.Declare(t, "r", 8, 8, 32);
            t.Conv2d("r.conv_unused", 8, 8, 1);
        }, (nn, i) => new ResnetBlock2D(nn, "r", 4, 1e-5f).Forward(i.X, i.Temb)));
        Assert.Contains("r.conv_unused", e.Message, StringComparison.Ordinal);
    }

    private sealed record BlockInputs(GraphValue X, GraphValue Temb, GraphValue Context, List<GraphValue> Skips);

    private void AssertReadsExactlyDeclared(Action<TensorLayout> declare, Func<Nn, BlockInputs, GraphValue> forward)
    {
        var layout = new TensorLayout();
        declare(layout);
        Assert.NotEmpty(layout.Tensors);
        string path = WriteCheckpoint(layout);
        using (var checkedWeights = new SafetensorsCheckpoint(path))
        {
            layout.Require(checkedWeights, "block");   // the pre-build check (it reads every declared shape, so it gets its own instance)
        }
        using var weights = new SafetensorsCheckpoint(path);   // Used: only what the build reads
        var g = new GraphBuilder("block");
        var nn = new Nn(g, weights) { Declared = layout };
        // Building is symbolic: only the weights' shapes are read, so the inputs' shapes do not matter.
        var inputs = new BlockInputs(
            g.Input("x", ElementType.Float, "b", "c", "h", "w"),
            g.Input("temb", ElementType.Float, "b", "t"),
            g.Input("context", ElementType.Float, "b", "s", "d"),
            Enumerable.Range(0, 16).Select(k => g.Input($"skip{k}", ElementType.Float, "b", "c", "h", "w")).ToList());
        forward(nn, inputs);
        var declared = layout.Tensors.Select(x => x.Name).Order(StringComparer.Ordinal).ToList();
        var read = weights.Used.Order(StringComparer.Ordinal).ToList();
        Assert.True(declared.SequenceEqual(read),
            $"declared but not read: [{string.Join(", ", declared.Except(read))}]; read but not declared: [{string.Join(", ", read.Except(declared))}]");
    }

    private string WriteCheckpoint(TensorLayout layout)
    {
        string path = Path.Combine(_dir, $"block{Directory.GetFiles(_dir).Length}.safetensors");
        SafetensorsWriter.Write(path, layout.Tensors
            .Select(x => SafetensorsWriter.Tensor.FromArray(x.Name, SafetensorsDType.F32, x.Shape, new float[TensorShape.ElementCount(x.Shape)])));
        return path;
    }
}

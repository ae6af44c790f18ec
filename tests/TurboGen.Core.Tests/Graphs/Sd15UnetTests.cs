using Microsoft.ML.OnnxRuntime;
using TurboGen.Checkpoints;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Testing;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>
/// SD 1.x UNet structure against the golden <c>unet_sd15_tiny</c> and <c>unet_sd15_inpaint_tiny</c> (in_channels 9): 1×1 conv
/// <c>proj_in</c>/<c>proj_out</c> (<c>use_linear_projection: false</c>), an int <c>attention_head_dim</c> that is the head count of
/// every block, diffusers folders and original single-file (<c>model.diffusion_model.*</c>) keys.
/// </summary>
public sealed class Sd15UnetTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const string Sd15 = "unet_sd15_tiny";
    private const string Inpaint = "unet_sd15_inpaint_tiny";

    [Theory]
    [InlineData(Sd15)]
    [InlineData(Inpaint)]
    public void Config_ReadsTheSd1Conventions(string caseName)
    {
        var config = ConfigOf(caseName);
        Assert.False(config.UseLinearProjection);
        Assert.Equal([2, 2, 2, 2], config.AttentionHeads);   // attention_head_dim: 2 = two heads in every block, not a head width
        Assert.Equal(caseName == Inpaint ? 9 : 4, config.InChannels);
        Assert.Equal(32, config.CrossAttentionDim);
    }

    [Theory]
    [InlineData(Sd15, "standard")]
    [InlineData(Sd15, "fused")]
    [InlineData(Inpaint, "standard")]
    [InlineData(Inpaint, "fused")]
    public void DiffusersFolder_MatchesGolden(string caseName, string kernels)
    {
        using var checkpoint = new SafetensorsCheckpoint(Path.Combine(TestPaths.GoldenCase(caseName), "diffusion_pytorch_model.safetensors"));
        var graph = Unet2DConditionModel.Build(ConfigOf(caseName), checkpoint,
            new UnetBuildOptions { Timestep = TimestepInput.VectorFloat, Kernels = GraphKernels.Parse(kernels) });
        Assert.Contains(graph.Nodes, n => n.OpType == "Conv" && n.Name.Contains("proj_in", StringComparison.Ordinal));
        AssertMatchesGolden(graph.ToBytes(), caseName, $"{caseName} {kernels}");
    }

    [Theory]
    [InlineData(Sd15)]
    [InlineData(Inpaint)]
    public void SingleFileKeys_MatchGolden(string caseName)
    {
        // The test kit renames the golden weights to the ldm layout independently of Core's SingleFileUnetNames.
        string dir = TestPaths.NewTempDir("sd15-single-file");
        try
        {
            string path = Path.Combine(dir, "unet.safetensors");
            SafetensorsWriter.Write(path, SingleFileTestCheckpoints.Unet(caseName));
            var config = ConfigOf(caseName);
            using var file = new SafetensorsCheckpoint(path);
            var renamed = new RenamedCheckpoint(file, SingleFileUnetNames.Mappings(config).Select(m => m.Mapping), "sd15 single file");
            Assert.Equal([16L, 16, 1, 1], file.Shape("model.diffusion_model.input_blocks.1.1.proj_in.weight"));
            var graph = Unet2DConditionModel.Build(config, renamed, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
            AssertMatchesGolden(graph.ToBytes(), caseName, caseName + " single file");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(Sd15)]
    [InlineData(Inpaint)]
    public void Layout_IsExactlyTheDiffusersCheckpoint(string caseName)
    {
        var config = ConfigOf(caseName);
        using var file = SafetensorsFile.Open(Path.Combine(TestPaths.GoldenCase(caseName), "diffusion_pytorch_model.safetensors"));
        var expected = file.Tensors.Values.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        var actual = UnetCheckpointLayout.Tensors(config).Select(t => $"{t.Name} [{string.Join(",", t.Shape)}]").Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
        Assert.Contains("conv_in.weight [16," + config.InChannels + ",3,3]", actual);
    }

    private static UnetConfig ConfigOf(string caseName) =>
        UnetConfig.FromJson(File.ReadAllText(Path.Combine(TestPaths.GoldenCase(caseName), "config.json")));

    private void AssertMatchesGolden(byte[] model, string caseName, string what)
    {
        string dir = TestPaths.GoldenCase(caseName);
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
        using var session = new InferenceSession(model, new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 });
        Assert.Equal(ConfigOf(caseName).InChannels, session.InputMetadata["sample"].Dimensions[1]);

        var names = inputs.Names.ToList();
        var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(inputs.Float(n), inputs.Shape(n))).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, values, ["out_sample"]);
            float[] actual = results[0].GetTensorDataAsSpan<float>().ToArray();
            double rel = GoldenTensors.RelativeError(actual, outputs.Float("sample"));
            output.WriteLine($"{what}: relative error {rel:E2}");
            Assert.True(rel <= Tolerance, $"{what}: relative error {rel:E3} > {Tolerance}");
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}

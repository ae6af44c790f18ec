using Onnx;
using TurboGen.Building;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Building;

[Collection("built-golden-model")]
public sealed class ModelConverterTests(BuiltGoldenModelFixture fixture, ITestOutputHelper output)
{
    /// <summary>Optimum's I/O (MODEL-CONTRACT §2.1) for the tiny SDXL model: name → (element type, rank), inputs then outputs.</summary>
    private static readonly Dictionary<string, (string[] Inputs, string[] Outputs)> OptimumIo = new()
    {
        ["text_encoder"] = (["input_ids:7:2"], ["last_hidden_state:1:3", "pooler_output:1:2", "hidden_states.0:1:3", "hidden_states.1:1:3", "hidden_states.2:1:3", "hidden_states.3:1:3"]),
        ["text_encoder_2"] = (["input_ids:7:2"], ["text_embeds:1:2", "last_hidden_state:1:3", "hidden_states.0:1:3", "hidden_states.1:1:3", "hidden_states.2:1:3", "hidden_states.3:1:3", "hidden_states.4:1:3"]),
        ["unet"] = (["sample:1:4", "timestep:1:0", "encoder_hidden_states:1:3", "text_embeds:1:2", "time_ids:1:2"], ["out_sample:1:4"]),
        ["vae_decoder"] = (["latent_sample:1:4"], ["sample:1:4"]),
        ["vae_encoder"] = (["sample:1:4"], ["latent_parameters:1:4"]),
    };

    [Fact]
    public void ConvertedDiffusersFolder_IsStandardOnnx_WithOptimumIo_AndGenerates()
    {
        string outputDir = Path.Combine(TestPaths.NewTempDir("turbogen-convert"), "onnx");
        try
        {
            ModelConverter.Convert(fixture.DiffusersDir, outputDir, new ModelResolveOptions { CacheRoot = fixture.CacheRoot });

            foreach (var (component, io) in OptimumIo)
            {
                string path = Path.Combine(outputDir, component, "model.onnx");
                Assert.True(File.Exists(Path.Combine(outputDir, component, "config.json")), $"{component}/config.json");
                Assert.True(File.Exists(Path.Combine(outputDir, component, OnnxModelBuilder.DataFileName)), $"{component}/{OnnxModelBuilder.DataFileName}");
                ModelProto model;
                using (var stream = File.OpenRead(path)) model = ModelProto.Parser.ParseFrom(stream);
                var opset = Assert.Single(model.OpsetImport);
                Assert.Equal(("", 17L), (opset.Domain, opset.Version));
                Assert.All(model.Graph.Node, n => Assert.True(n.Domain.Length == 0, $"{component}: node {n.Name} ({n.OpType}) is in domain '{n.Domain}'"));
                Assert.Equal(io.Inputs, model.Graph.Input.Select(Describe).ToArray());
                Assert.Equal(io.Outputs, model.Graph.Output.Select(Describe).ToArray());
                output.WriteLine($"{component}: {model.Graph.Node.Count} nodes, ops {string.Join(",", model.Graph.Node.Select(n => n.OpType).Distinct().Order())}");
            }
            foreach (string dir in new[] { "scheduler", "tokenizer", "tokenizer_2" })
            {
                Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(outputDir, dir)));
            }
            Assert.True(File.Exists(Path.Combine(outputDir, "model_index.json")));
            Assert.Contains("\"force_upcast\"", File.ReadAllText(Path.Combine(outputDir, "vae_decoder", "config.json")));
            Assert.Contains("\"scaling_factor\"", File.ReadAllText(Path.Combine(outputDir, "vae_encoder", "config.json")));

            AssertGeneratesTheGoldenLatents(outputDir);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outputDir)!, recursive: true);
        }
    }

    [Fact]
    public void ConvertedOnnxFolder_IsACopy_ThatGenerates()
    {
        string outputDir = Path.Combine(TestPaths.NewTempDir("turbogen-convert"), "copy");
        try
        {
            ModelConverter.Convert(fixture.OnnxDir, outputDir);

            var expected = Directory.EnumerateFiles(fixture.OnnxDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(fixture.OnnxDir, f)).Order();
            var actual = Directory.EnumerateFiles(outputDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outputDir, f)).Order();
            Assert.Equal(expected, actual);
            AssertGeneratesTheGoldenLatents(outputDir);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outputDir)!, recursive: true);
        }
    }

    [Fact]
    public void ConvertIntoANonEmptyFolder_IsRefused()
    {
        string outputDir = TestPaths.NewTempDir("turbogen-convert");
        File.WriteAllText(Path.Combine(outputDir, "keep.txt"), "mine");
        try
        {
            var e = Assert.Throws<InvalidRequestException>(() => ModelConverter.Convert(fixture.DiffusersDir, outputDir));
            Assert.Contains(outputDir, e.Message);
            Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(outputDir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(outputDir, recursive: true);
        }
    }

    /// <summary>Loads the folder and runs the golden 1-step case for the first prompt: latents within 1e-4 of the reference.</summary>
    private static void AssertGeneratesTheGoldenLatents(string dir)
    {
        using var model = TurboModel.Load(dir, new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1 } });
        using var inputs = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, "inputs_steps1.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, "outputs_steps1.safetensors"));
        float[] noise = inputs.Float("initial_noise")[..(4 * 16 * 16)];
        float[] expected = golden.Float("latents_1")[..(4 * 16 * 16)];
        var result = new TurboPipeline(model).Generate(new GenerationRequest
        {
            Prompt = GoldenDiffusersFolder.Prompts()[0],
            Width = 128,
            Height = 128,
            Steps = 1,
            InitialNoise = new FloatTensor(noise, [1, 4, 16, 16]),
            StepNoise = [new FloatTensor(inputs.Float("step0.ancestral_noise")[..(4 * 16 * 16)], [1, 4, 16, 16])],
        });
        Assert.True(GoldenTensors.RelativeError(result.Latents.Data, expected) <= 1e-4);
        Assert.Equal((128, 128), (result.Images[0].Width, result.Images[0].Height));
    }

    private static string Describe(ValueInfoProto v) => $"{v.Name}:{v.Type.TensorType.ElemType}:{v.Type.TensorType.Shape.Dim.Count}";
}

using Microsoft.ML.OnnxRuntime;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>
/// Issue 14 item 12: VAE attention biases stored [C,1,1] (diffusers' convert_diffusers_to_original_stable_diffusion.py) are
/// read as [C], like their [C,C,1,1] weights are read as [C,C]; and every component's keys and shapes are checked before any
/// weight is written.
/// </summary>
public sealed class SingleFileShapeToleranceTests(TinySingleFiles files) : IClassFixture<TinySingleFiles>, IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-shape-tolerance");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void VaeAttentionBiases_StoredAsConvBiases_BuildTheGoldenDecoder()
    {
        string path = Path.Combine(_dir, "conv_biases.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(path, convShapedAttentionBiases: true);
        using var c = SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs());
        var config = AutoencoderKlConfig.FromJson(c.VaeConfigJson);
        long channels = config.BlockOutChannels[^1];
        using (var raw = SafetensorsFile.Open(path))
        {
            Assert.Equal([channels, 1, 1], raw.Info("first_stage_model.decoder.mid.attn_1.q.bias").Shape);   // as the file stores it
        }
        Assert.Equal([channels], c.Vae.Shape("decoder.mid_block.attentions.0.to_q.bias"));                // as the builder reads it

        string golden = TestPaths.GoldenCase(SingleFileTestCheckpoints.VaeCase);
        using var inputs = new GoldenTensors(Path.Combine(golden, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(golden, "outputs.safetensors"));
        using var session = new InferenceSession(AutoencoderKl.BuildDecoder(config, c.Vae).ToBytes());
        using var latent = OrtValue.CreateTensorValueFromMemory(inputs.Float("latent"), inputs.Shape("latent"));
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["latent_sample"], [latent], ["sample"]);
        float[] expected = outputs.Float("decoded"), actual = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(GoldenTensors.RelativeError(actual, expected) <= 1e-4);
    }

    [Fact]
    public void ABiasThatIsNotAVector_IsStillRefused_NamingTheFile()
    {
        string path = Path.Combine(_dir, "bad_bias.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(path, keep: k => k != "first_stage_model.decoder.mid.attn_1.k.bias",
            extra: [SafetensorsWriter.Tensor.FromArray("first_stage_model.decoder.mid.attn_1.k.bias", SafetensorsDType.F32, [2, 4, 1], new float[8])]);
        using var c = SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs());
        var e = Assert.Throws<ModelLoadException>(() => OnnxModelBuilder.Build(c, Path.Combine(_dir, "out")));
        Assert.Contains("first_stage_model.decoder.mid.attn_1.k.bias", e.Message);
        Assert.Contains("bad_bias.safetensors", e.Message);
    }

    [Fact]
    public void EveryComponentIsChecked_BeforeAnyWeightIsWritten()
    {
        // A wrong shape in the text encoder (built first) and one in the VAE (built last): both are listed in one error,
        // raised before the first component is built.
        string path = Path.Combine(_dir, "two_bad.safetensors");
        const string te = "conditioner.embedders.0.transformer.text_model.final_layer_norm.bias";
        const string vae = "first_stage_model.decoder.conv_out.bias";
        SingleFileTestCheckpoints.WriteSdxl(path, keep: k => k is not (te or vae),
            extra: [SafetensorsWriter.Tensor.FromArray(te, SafetensorsDType.F32, [3], new float[3]),
                    SafetensorsWriter.Tensor.FromArray(vae, SafetensorsDType.F32, [5], new float[5])]);
        using var c = SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs());
        var stages = new List<string>();
        string output = Path.Combine(_dir, "built");
        var e = Assert.Throws<ModelLoadException>(() => OnnxModelBuilder.Build(c, output, new SyncProgress(stages.Add)));
        Assert.Contains("text_encoder (", e.Message);
        Assert.Contains("text_model.final_layer_norm.bias is [3]", e.Message);
        Assert.Contains("vae (", e.Message);
        Assert.Contains("decoder.conv_out.bias is [5]", e.Message);
        Assert.Contains("two_bad.safetensors", e.Message);
        Assert.Empty(stages);   // no graph built, no weight written
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.EnumerateDirectories(_dir, ".built*"));
    }

    private sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}

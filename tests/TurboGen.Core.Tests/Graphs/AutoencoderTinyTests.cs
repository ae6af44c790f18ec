using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Graphs.AutoencoderTestSupport;

namespace TurboGen.Core.Tests.Graphs;

public sealed class AutoencoderTinyTests
{
    private const double Tolerance = 1e-4;
    private static string Case => TestPaths.GoldenCase("taesd");
    private static string CheckpointPath => Path.Combine(Case, "diffusion_pytorch_model.safetensors");
    private static AutoencoderTinyConfig GoldenConfig => AutoencoderTinyConfig.FromFile(Path.Combine(Case, "config.json"));

    [Fact]
    public void Config_ParsesGoldenAsTheDefaultTaesdArchitecture()
    {
        var c = GoldenConfig;
        Assert.Equal(AutoencoderTinyConfig.Default.NumEncoderBlocks, c.NumEncoderBlocks);
        Assert.Equal([3, 3, 3, 1], c.NumDecoderBlocks);
        Assert.Equal([64, 64, 64, 64], c.DecoderBlockOutChannels);
        Assert.Equal("relu", c.ActFn);
        Assert.Equal(1.0f, c.ScalingFactor);
        Assert.Equal([1, 3, 3, 3], AutoencoderTinyConfig.FromJson("{}").NumEncoderBlocks);
        Assert.Throws<ModelLoadException>(() => AutoencoderTinyConfig.FromJson("""{"_class_name":"AutoencoderKL"}"""));
        Assert.Throws<ModelLoadException>(() => AutoencoderTinyConfig.FromJson("""{"num_decoder_blocks":[3,3]}"""));
        Assert.Throws<ModelLoadException>(() => AutoencoderTinyConfig.FromJson("""{"act_fn":"gelu"}"""));
    }

    [Fact]
    public void ExpectedTensors_AreExactlyTheGoldenCheckpointKeysAndParameterCount()
    {
        var config = GoldenConfig;
        var expected = AutoencoderTiny.ExpectedTensors(config, AutoencoderPart.Encoder)
            .Concat(AutoencoderTiny.ExpectedTensors(config, AutoencoderPart.Decoder)).ToDictionary();
        using var file = SafetensorsFile.Open(CheckpointPath);
        Assert.Equal(file.Tensors.Keys.Order(StringComparer.Ordinal), expected.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, shape) in expected)
        {
            Assert.Equal(file.Info(name).Shape, shape);
        }
        Assert.Equal(2445063L, expected.Values.Sum(TensorShape.ElementCount)); // case.json num_parameters
    }

    [Fact]
    public void Decoder_MatchesGolden_InBothOutputConventions()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
        var golden = outputs.Float("decoded");

        using (var session = Session(AutoencoderTiny.BuildDecoder(GoldenConfig, weights)))
        {
            Assert.Equal(["latent_sample"], session.InputMetadata.Keys);
            Assert.Equal(["sample"], session.OutputMetadata.Keys);
            Assert.Equal("batch,4,latent_height,latent_width", Dims(session.InputMetadata["latent_sample"]));
            Assert.Equal("batch,3,height,width", Dims(session.OutputMetadata["sample"]));
            var (decoded, shape) = Run(session, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
            Assert.Equal([1L, 3, 128, 128], shape);
            Assert.InRange(GoldenTensors.RelativeError(decoded, golden), 0, Tolerance);
        }
        using (var session = Session(AutoencoderTiny.BuildDecoder(GoldenConfig, weights, new() { ImageMinusOneToOne = false })))
        {
            var (decoded01, _) = Run(session, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
            var expected01 = golden.Select(v => (v + 1f) / 2f).ToArray();
            Assert.InRange(GoldenTensors.RelativeError(decoded01, expected01), 0, Tolerance);
        }
    }

    [Fact]
    public void Encoder_MatchesGolden_InBothInputConventions()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
        var image = inputs.Float("image");
        var golden = outputs.Float("latents");

        using (var session = Session(AutoencoderTiny.BuildEncoder(GoldenConfig, weights)))
        {
            Assert.Equal(["sample"], session.InputMetadata.Keys);
            Assert.Equal(["latent_sample"], session.OutputMetadata.Keys);
            var (latents, shape) = Run(session, "sample", image, inputs.Shape("image"), "latent_sample");
            Assert.Equal([1L, 4, 16, 16], shape);
            Assert.InRange(GoldenTensors.RelativeError(latents, golden), 0, Tolerance);
        }
        using (var session = Session(AutoencoderTiny.BuildEncoder(GoldenConfig, weights, new() { ImageMinusOneToOne = false })))
        {
            var image01 = image.Select(v => (v + 1f) / 2f).ToArray();
            var (latents, _) = Run(session, "sample", image01, inputs.Shape("image"), "latent_sample");
            Assert.InRange(GoldenTensors.RelativeError(latents, golden), 0, Tolerance);
        }
    }

    [Fact]
    public void Decoder_MatchesPipelineGoldenTaesdImage_FromUnscaledLatents_Batch2()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        using var pipeline = new GoldenTensors(Path.Combine(TestPaths.GoldenCase("pipeline_sdxl_turbo_tiny"), "outputs_steps4.safetensors"));
        using var session = Session(AutoencoderTiny.BuildDecoder(GoldenConfig, weights));
        // TAESD takes the UNet's latents as they are (no division by the VAE scaling factor).
        var (image, shape) = Run(session, "latent_sample", pipeline.Float("latents_4"), pipeline.Shape("latents_4"), "sample");
        Assert.Equal(pipeline.Shape("image_taesd_decoded"), shape);
        Assert.InRange(GoldenTensors.RelativeError(image, pipeline.Float("image_taesd_decoded")), 0, Tolerance);
    }

    [Fact]
    public void TaesdPyKeyLayout_OneFilePerHalf_GivesTheSameOutputs()
    {
        string dir = TestPaths.NewTempDir("taesd-py");
        try
        {
            // Re-create taesd.py's layout from the golden weights: encoder indices unchanged, decoder indices +1 (Clamp is module 0).
            string encoderPath = Path.Combine(dir, "taesd_encoder.safetensors");
            string decoderPath = Path.Combine(dir, "taesd_decoder.safetensors");
            TestCheckpoints.CopyRenamed(CheckpointPath, encoderPath, n => n.StartsWith("encoder.layers.") ? n["encoder.layers.".Length..] : null);
            TestCheckpoints.CopyRenamed(CheckpointPath, decoderPath, n => n.StartsWith("decoder.layers.") ? ShiftIndex(n["decoder.layers.".Length..], 1) : null);
            using var encoderFile = new SafetensorsCheckpoint(encoderPath);
            using var decoderFile = new SafetensorsCheckpoint(decoderPath);
            Assert.Contains("1.weight", decoderFile.Names);
            Assert.Contains("3.conv.0.weight", decoderFile.Names);

            using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
            using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
            using (var session = Session(AutoencoderTiny.BuildDecoder(GoldenConfig, AutoencoderTiny.FromTaesdPyKeys(decoderFile, AutoencoderPart.Decoder))))
            {
                var (decoded, _) = Run(session, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
                Assert.InRange(GoldenTensors.RelativeError(decoded, outputs.Float("decoded")), 0, Tolerance);
            }
            using (var session = Session(AutoencoderTiny.BuildEncoder(GoldenConfig, AutoencoderTiny.FromTaesdPyKeys(encoderFile, AutoencoderPart.Encoder))))
            {
                var (latents, _) = Run(session, "sample", inputs.Float("image"), inputs.Shape("image"), "latent_sample");
                Assert.InRange(GoldenTensors.RelativeError(latents, outputs.Float("latents")), 0, Tolerance);
            }
            // The decoder file read as an encoder fails with a clear message, not a crash.
            Assert.Throws<ModelLoadException>(() => AutoencoderTiny.BuildEncoder(GoldenConfig, AutoencoderTiny.FromTaesdPyKeys(decoderFile, AutoencoderPart.Encoder)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string ShiftIndex(string key, int by)
    {
        int dot = key.IndexOf('.');
        return $"{int.Parse(key[..dot]) + by}{key[dot..]}";
    }

    [Fact]
    public void MissingAndUnusedKeys_AreReported()
    {
        string dir = TestPaths.NewTempDir("taesd-keys");
        try
        {
            string path = Path.Combine(dir, "partial.safetensors");
            TestCheckpoints.CopyRenamed(CheckpointPath, path, name => name is "decoder.layers.11.weight" or "decoder.layers.18.bias" ? null : name);
            using (var weights = new SafetensorsCheckpoint(path))
            {
                var e = Assert.Throws<ModelLoadException>(() => AutoencoderTiny.BuildDecoder(GoldenConfig, weights));
                Assert.Contains("decoder.layers.11.weight", e.Message);
                Assert.Contains("decoder.layers.18.bias", e.Message);
                AutoencoderTiny.BuildEncoder(GoldenConfig, weights);
            }
            using (var weights = new SafetensorsCheckpoint(CheckpointPath))
            {
                // With no block in the last stage the output conv would be layers.17, where the checkpoint has a block.
                var e = Assert.Throws<ModelLoadException>(() => AutoencoderTiny.BuildDecoder(GoldenConfig with { NumDecoderBlocks = [3, 3, 3, 0] }, weights));
                Assert.Contains("decoder.layers.17.weight", e.Message);

                // One encoder stage fewer: the latent conv would be layers.10, where the checkpoint has a bias-free 64→64 stride-2 conv.
                var e2 = Assert.Throws<ModelLoadException>(() => AutoencoderTiny.BuildEncoder(
                    GoldenConfig with { EncoderBlockOutChannels = [64, 64, 64], NumEncoderBlocks = [1, 3, 3] }, weights));
                Assert.Contains("Missing 1 tensor(s): encoder.layers.10.bias", e2.Message);
                Assert.Contains("encoder.layers.10.weight is [64,64,3,3], expected [4,64,3,3]", e2.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

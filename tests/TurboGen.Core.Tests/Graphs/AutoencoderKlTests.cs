using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures;
using TurboGen.Graphs;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Weights;
using static TurboGen.Core.Tests.Graphs.AutoencoderTestSupport;

namespace TurboGen.Core.Tests.Graphs;

public sealed class AutoencoderKlTests
{
    private const double Tolerance = 1e-4;
    private static string Case => TestPaths.GoldenCase("vae_tiny");
    private static string CheckpointPath => Path.Combine(Case, "diffusion_pytorch_model.safetensors");
    private static AutoencoderKlConfig GoldenConfig => AutoencoderKlConfig.FromFile(Path.Combine(Case, "config.json"));

    [Fact]
    public void Config_ParsesGoldenAndMatchesRealSdxlValues()
    {
        var c = GoldenConfig;
        Assert.Equal([16, 32, 32, 32], c.BlockOutChannels);
        Assert.Equal(2, c.LayersPerBlock);
        Assert.Equal(8, c.NormNumGroups);
        Assert.Equal(4, c.LatentChannels);
        Assert.Equal(0.13025f, c.ScalingFactor);
        Assert.Equal(8, c.DownsampleFactor);
        Assert.Equal([128, 256, 512, 512], AutoencoderKlConfig.Sdxl.BlockOutChannels);
        Assert.Throws<ModelLoadException>(() => AutoencoderKlConfig.FromJson("""{"_class_name":"AutoencoderTiny"}"""));
        Assert.Throws<ModelLoadException>(() => AutoencoderKlConfig.FromJson("""{"block_out_channels":[30],"norm_num_groups":32}"""));
        Assert.Throws<ModelLoadException>(() => AutoencoderKlConfig.FromJson("""{"up_block_types":["AttnUpDecoderBlock2D"]}"""));
        Assert.Throws<ModelLoadException>(() => AutoencoderKlConfig.FromJson("not json"));
    }

    [Fact]
    public void ExpectedTensors_AreExactlyTheGoldenCheckpointKeysAndParameterCount()
    {
        var config = GoldenConfig;
        var expected = AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Encoder)
            .Concat(AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Decoder)).ToDictionary();
        using var file = SafetensorsFile.Open(CheckpointPath);
        Assert.Equal(file.Tensors.Keys.Order(StringComparer.Ordinal), expected.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, shape) in expected)
        {
            Assert.Equal(file.Info(name).Shape, shape);
        }
        Assert.Equal(437847L, expected.Values.Sum(TensorShape.ElementCount)); // case.json num_parameters
    }

    [Fact]
    public void Decoder_MatchesGolden_AndHasOptimumIo()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        var graph = AutoencoderKl.BuildDecoder(GoldenConfig, weights);
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));

        using var session = Session(graph);
        Assert.Equal(["latent_sample"], session.InputMetadata.Keys);
        Assert.Equal(["sample"], session.OutputMetadata.Keys);
        Assert.Equal("batch,4,latent_height,latent_width", Dims(session.InputMetadata["latent_sample"]));
        Assert.Equal("batch,3,height,width", Dims(session.OutputMetadata["sample"]));
        Assert.Equal(typeof(float), session.InputMetadata["latent_sample"].ElementType);

        var (decoded, shape) = Run(session, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
        Assert.Equal(outputs.Shape("decoded"), shape);
        Assert.InRange(GoldenTensors.RelativeError(decoded, outputs.Float("decoded")), 0, Tolerance);
    }

    [Fact]
    public void Decoder_MatchesPipelineGoldenImage_FromScaledLatents_Batch2()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        using var pipeline = new GoldenTensors(Path.Combine(TestPaths.GoldenCase("pipeline_sdxl_turbo_tiny"), "outputs_steps4.safetensors"));
        using var session = Session(AutoencoderKl.BuildDecoder(GoldenConfig, weights));
        // The pipeline divides by scaling_factor before the decoder; the graph itself does not scale.
        var latents = pipeline.Float("latents_4").Select(v => v / GoldenConfig.ScalingFactor).ToArray();
        var (image, shape) = Run(session, "latent_sample", latents, pipeline.Shape("latents_4"), "sample");
        Assert.Equal(pipeline.Shape("image_decoded"), shape);
        Assert.InRange(GoldenTensors.RelativeError(image, pipeline.Float("image_decoded")), 0, Tolerance);
    }

    [Fact]
    public void Encoder_LatentParameters_MatchGoldenMeanLogvarAndStd()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        var graph = AutoencoderKl.BuildEncoder(GoldenConfig, weights);
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));

        using var session = Session(graph);
        Assert.Equal(["sample"], session.InputMetadata.Keys);
        Assert.Equal(["latent_parameters"], session.OutputMetadata.Keys);
        Assert.Equal("batch,3,height,width", Dims(session.InputMetadata["sample"]));
        Assert.Equal("batch,8,latent_height,latent_width", Dims(session.OutputMetadata["latent_parameters"]));

        var (parameters, shape) = Run(session, "sample", inputs.Float("image"), inputs.Shape("image"), "latent_parameters");
        Assert.Equal([1L, 8, 8, 8], shape);
        var mean = Channels(parameters, shape, 0, 4);
        var logvar = Channels(parameters, shape, 4, 8);
        var goldenLogvar = outputs.Float("latent_logvar");
        // The golden logvar is clamped to [-30, 20] by diffusers; all its values lie inside, so the raw graph output compares directly.
        Assert.All(goldenLogvar, v => Assert.InRange(v, -30f, 20f));
        Assert.InRange(GoldenTensors.RelativeError(mean, outputs.Float("latent_mean")), 0, Tolerance);
        Assert.InRange(GoldenTensors.RelativeError(logvar, goldenLogvar), 0, Tolerance);
        // The pipeline's std = exp(0.5 · clamp(logvar, -30, 20)).
        var std = logvar.Select(v => MathF.Exp(0.5f * Math.Clamp(v, -30f, 20f))).ToArray();
        Assert.InRange(GoldenTensors.RelativeError(std, outputs.Float("latent_std")), 0, Tolerance);
    }

    [Fact]
    public void Encoder_LatentMeanOption_OutputsLatentSampleEqualToTheMean()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        var graph = AutoencoderKl.BuildEncoder(GoldenConfig, weights, new() { EncoderOutput = VaeEncoderOutput.LatentMean });
        using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
        using var session = Session(graph);
        Assert.Equal(["latent_sample"], session.OutputMetadata.Keys);
        Assert.Equal("batch,4,latent_height,latent_width", Dims(session.OutputMetadata["latent_sample"]));
        var (latent, shape) = Run(session, "sample", inputs.Float("image"), inputs.Shape("image"), "latent_sample");
        Assert.Equal([1L, 4, 8, 8], shape);
        Assert.InRange(GoldenTensors.RelativeError(latent, outputs.Float("latent_mean")), 0, Tolerance);
    }

    [Fact]
    public void SavedWithExternalData_LoadsFromPathAndMatchesGolden()
    {
        string dir = TestPaths.NewTempDir("vae-save");
        try
        {
            using (var weights = new SafetensorsCheckpoint(CheckpointPath))
            {
                AutoencoderKl.BuildDecoder(GoldenConfig, weights).Save(Path.Combine(dir, "model.onnx"), "model.onnx_data");
            }
            Assert.True(new FileInfo(Path.Combine(dir, "model.onnx_data")).Length > 800_000); // the decoder's weights live outside the proto
            using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
            using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
            using var session = Session(Path.Combine(dir, "model.onnx"));
            var (decoded, _) = Run(session, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
            Assert.InRange(GoldenTensors.RelativeError(decoded, outputs.Float("decoded")), 0, Tolerance);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void LegacyAttentionKeyNames_GiveTheSameOutputs()
    {
        string dir = TestPaths.NewTempDir("vae-legacy");
        try
        {
            string legacyPath = Path.Combine(dir, "legacy.safetensors");
            TestCheckpoints.CopyRenamed(CheckpointPath, legacyPath, name => name
                .Replace(".attentions.0.to_q.", ".attentions.0.query.")
                .Replace(".attentions.0.to_k.", ".attentions.0.key.")
                .Replace(".attentions.0.to_v.", ".attentions.0.value.")
                .Replace(".attentions.0.to_out.0.", ".attentions.0.proj_attn."));
            using var weights = new SafetensorsCheckpoint(legacyPath);
            Assert.True(AutoencoderKl.UsesLegacyAttentionNames(weights));
            Assert.Contains("decoder.mid_block.attentions.0.proj_attn.weight", weights.Names);

            using var inputs = new GoldenTensors(Path.Combine(Case, "inputs.safetensors"));
            using var outputs = new GoldenTensors(Path.Combine(Case, "outputs.safetensors"));
            using (var decoder = Session(AutoencoderKl.BuildDecoder(GoldenConfig, weights)))
            {
                var (decoded, _) = Run(decoder, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
                Assert.InRange(GoldenTensors.RelativeError(decoded, outputs.Float("decoded")), 0, Tolerance);
            }
            using (var encoder = Session(AutoencoderKl.BuildEncoder(GoldenConfig, weights)))
            {
                var (parameters, shape) = Run(encoder, "sample", inputs.Float("image"), inputs.Shape("image"), "latent_parameters");
                Assert.InRange(GoldenTensors.RelativeError(Channels(parameters, shape, 0, 4), outputs.Float("latent_mean")), 0, Tolerance);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void MissingKeys_AreAllListedInOneError()
    {
        string dir = TestPaths.NewTempDir("vae-missing");
        try
        {
            string path = Path.Combine(dir, "partial.safetensors");
            string[] dropped = ["decoder.up_blocks.1.resnets.2.conv1.weight", "decoder.mid_block.attentions.0.to_v.bias", "post_quant_conv.weight"];
            TestCheckpoints.CopyRenamed(CheckpointPath, path, name => dropped.Contains(name) ? null : name);
            using var weights = new SafetensorsCheckpoint(path);
            var e = Assert.Throws<ModelLoadException>(() => AutoencoderKl.BuildDecoder(GoldenConfig, weights));
            Assert.Contains("Missing 3 tensor(s)", e.Message);
            Assert.All(dropped, d => Assert.Contains(d, e.Message));
            // The encoder half is complete, so the encoder still builds from the same file.
            AutoencoderKl.BuildEncoder(GoldenConfig, weights);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WrongShapes_AreReported()
    {
        using var weights = new SafetensorsCheckpoint(CheckpointPath);
        var wrong = GoldenConfig with { BlockOutChannels = [16, 32, 32, 64] };
        var e = Assert.Throws<ModelLoadException>(() => AutoencoderKl.BuildDecoder(wrong, weights));
        Assert.Contains("Wrong shape", e.Message);
        Assert.Contains("decoder.conv_in.weight is [32,4,3,3], expected [64,4,3,3]", e.Message);
    }

    [Fact]
    public void UnusedKeys_AreReported_ButTheOtherHalfIsIgnored()
    {
        // A config with one layer per block reads fewer resnets than the checkpoint has.
        using (var weights = new SafetensorsCheckpoint(CheckpointPath))
        {
            var e = Assert.Throws<ModelLoadException>(() => AutoencoderKl.BuildEncoder(GoldenConfig with { LayersPerBlock = 1 }, weights));
            Assert.Contains("does not use", e.Message);
            Assert.Contains("encoder.down_blocks.0.resnets.1.conv1.weight", e.Message);
            Assert.DoesNotContain("decoder.", e.Message);
        }

        // An extra tensor in the decoder's namespace is an error for the decoder, not for the encoder.
        string dir = TestPaths.NewTempDir("vae-extra");
        try
        {
            string extra = Path.Combine(dir, "extra.safetensors");
            TestCheckpoints.WriteSeededRandom(extra, new Dictionary<string, long[]> { ["decoder.mid_block.attentions.0.rel_pos.weight"] = [4] }, seed: 1);
            using var weights = new SafetensorsCheckpoint(CheckpointPath, extra);
            var e = Assert.Throws<ModelLoadException>(() => AutoencoderKl.BuildDecoder(GoldenConfig, weights));
            Assert.Contains("decoder.mid_block.attentions.0.rel_pos.weight", e.Message);
            AutoencoderKl.BuildEncoder(GoldenConfig, weights);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FullSizeSdxlConfig_BuildsFromRandomCheckpoint_AndOrtRunsIt()
    {
        var config = AutoencoderKlConfig.Sdxl;
        var encoderShapes = AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Encoder);
        var decoderShapes = AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Decoder);
        // diffusers' SD/SDXL AutoencoderKL has 83,653,863 parameters, 34,163,592 of them in the Encoder module (quant_conv: 8·8+8 more).
        Assert.Equal(34_163_592L, encoderShapes.Where(kv => kv.Key.StartsWith("encoder.")).Sum(kv => TensorShape.ElementCount(kv.Value)));
        Assert.Equal(83_653_863L, encoderShapes.Values.Concat(decoderShapes.Values).Sum(TensorShape.ElementCount));
        Assert.Equal([512L, 4, 3, 3], decoderShapes["decoder.conv_in.weight"]);
        Assert.Equal([256L, 512, 1, 1], decoderShapes["decoder.up_blocks.2.resnets.0.conv_shortcut.weight"]);
        Assert.Equal([128L, 256, 1, 1], decoderShapes["decoder.up_blocks.3.resnets.0.conv_shortcut.weight"]);
        Assert.Equal([512L, 512], decoderShapes["decoder.mid_block.attentions.0.to_q.weight"]);
        Assert.Equal([8L, 512, 3, 3], encoderShapes["encoder.conv_out.weight"]);
        Assert.Equal([256L, 128, 1, 1], encoderShapes["encoder.down_blocks.1.resnets.0.conv_shortcut.weight"]);

        string dir = TestPaths.NewTempDir("vae-sdxl");
        try
        {
            // F16 like the published fp16 variants (half the temp disk, and exercises the F16→F32 conversion at write time).
            string checkpoint = Path.Combine(dir, "diffusion_pytorch_model.fp16.safetensors");
            TestCheckpoints.WriteSeededRandom(checkpoint, encoderShapes.Concat(decoderShapes).ToDictionary(), seed: 7, SafetensorsDType.F16);
            using var weights = new SafetensorsCheckpoint(checkpoint);
            AutoencoderKl.BuildDecoder(config, weights).Save(Path.Combine(dir, "vae_decoder", "model.onnx"), "model.onnx_data");
            AutoencoderKl.BuildEncoder(config, weights).Save(Path.Combine(dir, "vae_encoder", "model.onnx"), "model.onnx_data");

            using (var decoder = Session(Path.Combine(dir, "vae_decoder", "model.onnx")))
            {
                var latent = Enumerable.Range(0, 4 * 4 * 4).Select(i => MathF.Sin(i)).ToArray();
                var (image, shape) = Run(decoder, "latent_sample", latent, [1, 4, 4, 4], "sample");
                Assert.Equal([1L, 3, 32, 32], shape);
                Assert.All(image, v => Assert.True(float.IsFinite(v)));
                Assert.True(image.Max() - image.Min() > 1e-3f);
            }
            using (var encoder = Session(Path.Combine(dir, "vae_encoder", "model.onnx")))
            {
                var pixels = Enumerable.Range(0, 3 * 32 * 32).Select(i => MathF.Cos(i * 0.1f)).ToArray();
                var (parameters, shape) = Run(encoder, "sample", pixels, [1, 3, 32, 32], "latent_parameters");
                Assert.Equal([1L, 8, 4, 4], shape);
                Assert.All(parameters, v => Assert.True(float.IsFinite(v)));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The real-size SDXL VAE decoder at 512² (64² latent) on CPU (~30 s on 2 cores): runs only with TURBOGEN_RUN_SLOW=1.</summary>
    [SlowFact]
    [Trait("Category", "Slow")]
    public void FullSizeSdxlDecoder_512_RunsOnCpu()
    {
        var config = AutoencoderKlConfig.Sdxl;
        string dir = TestPaths.NewTempDir("vae-sdxl-512");
        try
        {
            string checkpoint = Path.Combine(dir, "vae.safetensors");
            TestCheckpoints.WriteSeededRandom(checkpoint, AutoencoderKl.ExpectedTensors(config, AutoencoderPart.Decoder), seed: 11);
            using var weights = new SafetensorsCheckpoint(checkpoint);
            string model = Path.Combine(dir, "vae_decoder", "model.onnx");
            AutoencoderKl.BuildDecoder(config, weights).Save(model, "model.onnx_data");
            using var decoder = Session(model);
            var latent = Enumerable.Range(0, 4 * 64 * 64).Select(i => MathF.Sin(i * 0.37f)).ToArray();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (image, shape) = Run(decoder, "latent_sample", latent, [1, 4, 64, 64], "sample");
            watch.Stop();
            Console.WriteLine($"SDXL VAE decoder 512x512 on CPU: {watch.Elapsed.TotalSeconds:F1} s");
            Assert.Equal([1L, 3, 512, 512], shape);
            Assert.All(image, v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

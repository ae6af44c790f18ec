using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Benchmarking;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Storage;
using TurboGen.Tensors;
using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Benchmarking;

public sealed class RandomCheckpointTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-random");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly (string Name, long[] Shape)[] Sample =
    [
        ("block.linear.weight", [256, 128]),
        ("block.linear.bias", [256]),
        ("block.conv.weight", [32, 16, 3, 3]),
        ("block.norm.weight", [64]),
        ("model.text_projection", [64, 32]),
        ("model.token_embedding.weight", [1000, 16]),
        ("model.logit_scale", []),
        ("text_model.embeddings.position_ids", [1, 77]),
    ];

    [Fact]
    public void WriteInitialized_IsSeededPerTensor_WithModelLikeValues()
    {
        string a = Path.Combine(_dir, "a.safetensors"), b = Path.Combine(_dir, "b.safetensors"), c = Path.Combine(_dir, "c.safetensors");
        RandomCheckpoint.WriteInitialized(a, Sample, seed: 5);
        RandomCheckpoint.WriteInitialized(b, Sample.Reverse().Take(6), seed: 5);   // another order and subset: same values per tensor
        RandomCheckpoint.WriteInitialized(c, Sample, seed: 6, SafetensorsDType.F32);
        using var fa = SafetensorsFile.Open(a);
        using var fb = SafetensorsFile.Open(b);
        using var fc = SafetensorsFile.Open(c);

        Assert.Equal(SafetensorsDType.F16, fa.Info("block.linear.weight").DType);
        Assert.Equal(SafetensorsDType.F32, fc.Info("block.linear.weight").DType);
        Assert.Equal(SafetensorsDType.I64, fa.Info("text_model.embeddings.position_ids").DType);
        Assert.Equal(fa.ReadFloat32("block.conv.weight"), fb.ReadFloat32("block.conv.weight"));
        Assert.Equal(fa.ReadFloat32("model.text_projection"), fb.ReadFloat32("model.text_projection"));
        Assert.NotEqual(fa.ReadFloat32("block.conv.weight"), fc.ReadFloat32("block.conv.weight"));

        AssertSpread(fa.ReadFloat32("block.linear.weight"), 0, 1 / Math.Sqrt(128));      // N(0, 1/fan_in)
        AssertSpread(fa.ReadFloat32("block.conv.weight"), 0, 1 / Math.Sqrt(16 * 9));
        AssertSpread(fa.ReadFloat32("model.text_projection"), 0, 1 / Math.Sqrt(64));     // open_clip [width, proj]: fan_in = width
        AssertSpread(fa.ReadFloat32("model.token_embedding.weight"), 0, 0.02);
        AssertSpread(fa.ReadFloat32("block.linear.bias"), 0, 0.02, tolerance: 0.25);
        Assert.All(fa.ReadFloat32("block.norm.weight"), v => Assert.Equal(1f, v));
        Assert.Equal(4.605f, fa.ReadFloat32("model.logit_scale")[0], 0.005f);
        Assert.Equal(Enumerable.Range(0, 77).Select(i => (long)i), fa.ReadInt64("text_model.embeddings.position_ids"));
        Assert.Equal("pt", fa.Metadata["format"]);
    }

    private static void AssertSpread(float[] values, double mean, double std, double tolerance = 0.1)
    {
        double m = values.Average(), s = Math.Sqrt(values.Select(v => (v - m) * (v - m)).Average());
        Assert.InRange(m - mean, -3 * std / Math.Sqrt(values.Length) - 1e-3, 3 * std / Math.Sqrt(values.Length) + 1e-3);
        Assert.InRange(s, std * (1 - tolerance), std * (1 + tolerance));
    }

    [Fact]
    public void DiffusersFolder_HasTheRepositoryLayout_AndItsComponentsBuild()
    {
        // Tiny configs keep this fast; the names come from the same layouts as the full-size models.
        var configs = SingleFileTestCheckpoints.SdxlConfigs();
        RandomCheckpoint.WriteDiffusersFolder(_dir, configs, TestPaths.ClipBpeVocabGz, seed: 3);

        Assert.Equal(configs.ModelIndexJson, File.ReadAllText(Path.Combine(_dir, "model_index.json")));
        Assert.Equal(configs.SchedulerConfigJson, File.ReadAllText(Path.Combine(_dir, "scheduler", "scheduler_config.json")));
        // SDXL's tokenizer pads with <|endoftext|> (49407), tokenizer_2 with "!" (0).
        Assert.Equal(49407, ClipTokenizer.FromFolder(Path.Combine(_dir, "tokenizer")).Encode("a cat").Ids[^1]);
        Assert.Equal(0, ClipTokenizer.FromFolder(Path.Combine(_dir, "tokenizer_2")).Encode("a cat").Ids[^1]);

        using (var unet = new SafetensorsCheckpoint(Path.Combine(_dir, "unet", "diffusion_pytorch_model.fp16.safetensors")))
        {
            Unet2DConditionModel.Build(UnetConfig.FromJson(File.ReadAllText(Path.Combine(_dir, "unet", "config.json"))), unet);
        }
        using (var vae = new SafetensorsCheckpoint(Path.Combine(_dir, "vae", "diffusion_pytorch_model.fp16.safetensors")))
        {
            var config = AutoencoderKlConfig.FromFile(Path.Combine(_dir, "vae", "config.json"));
            AutoencoderKl.BuildDecoder(config, vae);
            AutoencoderKl.BuildEncoder(config, vae);
        }
        foreach (string component in new[] { "text_encoder", "text_encoder_2" })
        {
            using var weights = new SafetensorsCheckpoint(Path.Combine(_dir, component, "model.fp16.safetensors"));
            ClipTextModel.Build(ClipTextConfig.FromFile(Path.Combine(_dir, component, "config.json")), weights);
        }
    }

    [Fact]
    public void FullSizeSdTurboLayout_OpensWithEveryKeyMapped_AndItsGraphsBuild()
    {
        // The exact header RandomCheckpoint.WriteSingleFile writes (SingleFileLayout.SourceTensors, F16), over a sparse data
        // section: the names and shapes are checked in milliseconds without generating 2.6 GB (the slow test below does).
        // It lies in a Hugging Face cache (snapshot symlink → blobs/<sha256>), so its identity is the blob name and the
        // zeros are never read to hash them.
        var tensors = SingleFileLayout.For(KnownConfigs.SdTurbo).SourceTensors();
        string repo = Path.Combine(_dir, "models--stabilityai--sd-turbo");
        string blobs = Directory.CreateDirectory(Path.Combine(repo, "blobs")).FullName;
        string blob = Path.Combine(blobs, new string('0', 64));
        SafetensorsWriter.Write(blob, tensors.Select(t => new SafetensorsWriter.Tensor(t.Name, SafetensorsDType.F16, t.Shape, s =>
        {
            long bytes = TensorShape.ElementCount(t.Shape) * 2;
            s.SetLength(s.Position + bytes);
            s.Seek(bytes, SeekOrigin.Current);
        })));
        string path = Path.Combine(Directory.CreateDirectory(Path.Combine(repo, "snapshots", "abc")).FullName, "sd_turbo.safetensors");
        File.CreateSymbolicLink(path, Path.Combine("..", "..", "blobs", new string('0', 64)));
        Assert.Equal(new string('0', 64), FileContentId.Of(path));
        using var c = BuildFromSdTurboSingleFile(path, Path.Combine(_dir, "tokenizer"));
        Assert.Matches("^[0-9a-f]{64}$", c.ContentHash);
    }

    [SlowFact]
    [Trait("Category", "Slow")]
    public void FullSizeSdTurboSingleFile_IsWrittenOpensAndBuilds()
    {
        var clock = Stopwatch.StartNew();
        string path = Path.Combine(_dir, "sd_turbo.safetensors");
        RandomCheckpoint.WriteSingleFile(path, ModelFamily.Sd, seed: 1);
        log.WriteLine($"SD-Turbo single file ({new FileInfo(path).Length / 1e9:F2} GB) written in {clock.Elapsed.TotalSeconds:F1} s");
        var c = BuildFromSdTurboSingleFile(path, Path.Combine(_dir, "tokenizer"));
        using (c)
        {
            // A weight through the view equals the F16 value in the file.
            using var raw = SafetensorsFile.Open(path);
            Assert.Equal(SafetensorsDType.F16, raw.Info("model.diffusion_model.out.2.weight").DType);
            Assert.Equal(raw.ReadFloat32("first_stage_model.decoder.up.0.block.0.nin_shortcut.weight"), c.Vae.ReadFloat32("decoder.up_blocks.3.resnets.0.conv_shortcut.weight"));
            Assert.Equal(raw.ReadFloat32("cond_stage_model.model.transformer.resblocks.22.attn.in_proj_bias").AsSpan(2048, 1024).ToArray(),
                c.TextEncoder.ReadFloat32("text_model.encoder.layers.22.self_attn.v_proj.bias"));
        }
    }

    /// <summary>Opens an SD-Turbo-layout single file with the known configs and builds every graph (shapes only: no weight is read).</summary>
    private CheckpointComponents BuildFromSdTurboSingleFile(string path, string tokenizer)
    {
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, tokenizer, "!");
        var clock = Stopwatch.StartNew();
        var c = SingleFileCheckpoint.Open(path, tokenizer, null);   // the known SD-Turbo configs; fails on any missing or unexpected key
        log.WriteLine($"opened (keys checked, SHA-256) in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(ModelFamily.Sd, c.Family);

        // Every builder checks presence and shape of what it needs and rejects keys it did not read.
        var unet = Unet2DConditionModel.Build(UnetConfig.FromJson(c.UnetConfigJson), c.Unet);
        var vae = AutoencoderKlConfig.FromJson(c.VaeConfigJson);
        AutoencoderKl.BuildDecoder(vae, c.Vae);
        AutoencoderKl.BuildEncoder(vae, c.Vae);
        ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder);
        Assert.Contains(unet.Nodes, n => n.Name.Contains("up_blocks.3", StringComparison.Ordinal));
        Assert.Equal(865_910_724L, c.Unet.Names.Sum(n => TensorShape.ElementCount(c.Unet.Shape(n))));
        Assert.Equal(c.Unet.Names.Count(), c.Unet.Used.Count);
        Assert.Equal(23 * 16 + 4, c.TextEncoder.Names.Count());   // 23 layers of 16 tensors, 2 embeddings, final LayerNorm
        return c;
    }

    [SlowFact]
    [Trait("Category", "Slow")]
    public void FullSizeSdTurboSingleFile_Runs512_TextEncoderUnetAndVaeDecoder_WithFiniteOutputs()
    {
        var clock = Stopwatch.StartNew();
        string path = Path.Combine(_dir, "sd_turbo.safetensors");
        RandomCheckpoint.WriteSingleFile(path, ModelFamily.Sd, seed: 2);
        string tokenizer = Path.Combine(_dir, "tokenizer");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, tokenizer, "!");
        log.WriteLine($"written: {clock.Elapsed.TotalSeconds:F1} s");

        string onnx = Path.Combine(_dir, "onnx");
        using (var c = SingleFileCheckpoint.Open(path, tokenizer, null))
        {
            ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder).Save(Path.Combine(onnx, "text_encoder", "model.onnx"), "model.onnx_data");
            Unet2DConditionModel.Build(UnetConfig.FromJson(c.UnetConfigJson), c.Unet).Save(Path.Combine(onnx, "unet", "model.onnx"), "model.onnx_data");
            AutoencoderKl.BuildDecoder(AutoencoderKlConfig.FromJson(c.VaeConfigJson), c.Vae).Save(Path.Combine(onnx, "vae_decoder", "model.onnx"), "model.onnx_data");
        }
        File.Delete(path);
        log.WriteLine($"built and saved: {clock.Elapsed.TotalSeconds:F1} s");

        var tokens = ClipTokenizer.FromFolder(tokenizer).Encode("a photo of a cat").Ids;
        float[] hidden = RunOne(Path.Combine(onnx, "text_encoder", "model.onnx"), [("input_ids", OrtValue.CreateTensorValueFromMemory(tokens.Select(t => (long)t).ToArray(), [1, 77]))], "last_hidden_state");
        log.WriteLine($"text encoder: {clock.Elapsed.TotalSeconds:F1} s");
        var noise = new Random(1);
        float[] latent = Enumerable.Range(0, 4 * 64 * 64).Select(_ => (float)(noise.NextDouble() * 2 - 1)).ToArray();
        float[] eps = RunOne(Path.Combine(onnx, "unet", "model.onnx"),
        [
            ("sample", OrtValue.CreateTensorValueFromMemory(latent, [1, 4, 64, 64])),
            ("timestep", OrtValue.CreateTensorValueFromMemory(new[] { 999f }, [])),
            ("encoder_hidden_states", OrtValue.CreateTensorValueFromMemory(hidden, [1, 77, 1024])),
        ], "out_sample");
        log.WriteLine($"unet 512²: {clock.Elapsed.TotalSeconds:F1} s");
        float[] image = RunOne(Path.Combine(onnx, "vae_decoder", "model.onnx"), [("latent_sample", OrtValue.CreateTensorValueFromMemory(eps, [1, 4, 64, 64]))], "sample");
        log.WriteLine($"vae decoder 512²: {clock.Elapsed.TotalSeconds:F1} s");

        Assert.Equal(3 * 512 * 512, image.Length);
        foreach (var values in new[] { hidden, eps, image })
        {
            Assert.All(values, v => Assert.True(float.IsFinite(v)));
            Assert.True(values.Max() > values.Min());
        }
    }

    private static float[] RunOne(string modelPath, (string Name, OrtValue Value)[] inputs, string output)
    {
        try
        {
            using var session = new InferenceSession(modelPath, new SessionOptions());
            // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
            using var ortRunOptions = new RunOptions();
            using var results = session.Run(ortRunOptions, inputs.Select(i => i.Name).ToList(), inputs.Select(i => i.Value).ToList(), [output]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var (_, value) in inputs) value.Dispose();
        }
    }
}

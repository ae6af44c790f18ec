using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs;
using TurboGen.Storage;
using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>
/// Tiny single-file checkpoints written from the golden diffusers models (the test kit's independent inverse conversion) and their
/// CLIP tokenizer folders, shared by the tests of a class (written once).
/// </summary>
public sealed class TinySingleFiles : IDisposable
{
    public TinySingleFiles()
    {
        Dir = TestPaths.NewTempDir("turbogen-singlefile");
        Sdxl = Path.Combine(Dir, "sdxl_tiny.safetensors");
        Sd = Path.Combine(Dir, "sd_tiny.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(Sdxl);
        SingleFileTestCheckpoints.WriteSd(Sd);
        Tokenizer = Path.Combine(Dir, "tokenizer");
        Tokenizer2 = Path.Combine(Dir, "tokenizer_2");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Tokenizer, "<|endoftext|>");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Tokenizer2, "!");
    }

    public string Dir { get; }
    public string Sdxl { get; }
    public string Sd { get; }
    public string Tokenizer { get; }
    public string Tokenizer2 { get; }

    public CheckpointComponents OpenSdxl() => SingleFileCheckpoint.Open(Sdxl, Tokenizer, Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs());
    public CheckpointComponents OpenSd() => SingleFileCheckpoint.Open(Sd, Tokenizer, null, SingleFileTestCheckpoints.SdConfigs());

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class SingleFileCheckpointTests(TinySingleFiles files, ITestOutputHelper log) : IClassFixture<TinySingleFiles>, IDisposable
{
    private const double Tolerance = 1e-4;
    private string? _scratch;

    private string Scratch => _scratch ??= TestPaths.NewTempDir("turbogen-singlefile-case");

    public void Dispose()
    {
        if (_scratch is not null) Directory.Delete(_scratch, recursive: true);
    }

    // ---- golden round trip ---------------------------------------------------------------------------------

    [Theory]
    [InlineData(ModelFamily.Sdxl, SingleFileTestCheckpoints.SdxlUnetCase)]
    [InlineData(ModelFamily.Sd, SingleFileTestCheckpoints.SdUnetCase)]
    public void Unet_FromSingleFile_MatchesGolden(ModelFamily family, string caseName)
    {
        using var c = family == ModelFamily.Sdxl ? files.OpenSdxl() : files.OpenSd();
        Assert.Equal(family, c.Family);
        var graph = Unet2DConditionModel.Build(UnetConfig.FromJson(c.UnetConfigJson), c.Unet, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });

        string dir = TestPaths.GoldenCase(caseName);
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
        using var session = Session(graph);
        var names = inputs.Names.ToList();
        var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(inputs.Float(n), inputs.Shape(n))).ToList();
        try
        {
            // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
            using var ortRunOptions = new RunOptions();
            using var results = session.Run(ortRunOptions, names, values, ["out_sample"]);
            AssertClose(outputs.Float("sample"), results[0].GetTensorDataAsSpan<float>().ToArray(), $"{caseName} out_sample");
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    [Theory]
    [InlineData(ModelFamily.Sdxl)]
    [InlineData(ModelFamily.Sd)]
    public void Vae_FromSingleFile_MatchesGoldenDecoderAndEncoder(ModelFamily family)
    {
        using var c = family == ModelFamily.Sdxl ? files.OpenSdxl() : files.OpenSd();
        var config = AutoencoderKlConfig.FromJson(c.VaeConfigJson);
        string dir = TestPaths.GoldenCase(SingleFileTestCheckpoints.VaeCase);
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));

        using (var decoder = Session(AutoencoderKl.BuildDecoder(config, c.Vae)))
        {
            var (decoded, _) = Run(decoder, "latent_sample", inputs.Float("latent"), inputs.Shape("latent"), "sample");
            AssertClose(outputs.Float("decoded"), decoded, "decoded");
        }
        using (var encoder = Session(AutoencoderKl.BuildEncoder(config, c.Vae)))
        {
            var (parameters, shape) = Run(encoder, "sample", inputs.Float("image"), inputs.Shape("image"), "latent_parameters");
            AssertClose(outputs.Float("latent_mean"), Channels(parameters, shape, 0, 4), "latent_mean");
            AssertClose(outputs.Float("latent_logvar"), Channels(parameters, shape, 4, 8), "latent_logvar");
        }
    }

    [Fact]
    public void SdxlTextEncoders_FromSingleFile_MatchGolden_AllOutputs()
    {
        using var c = files.OpenSdxl();
        var options = new ClipTextBuildOptions { OutputHiddenStates = true };

        var clipL = ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder, options);
        AssertMatchesGoldenClip(SingleFileTestCheckpoints.ClipCase, RunClip(clipL, SingleFileTestCheckpoints.ClipCase), expectedOutputs: 6);

        // bigG: fused in_proj split into q/k/v, text_projection transposed → text_embeds.
        var bigG = ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoder2ConfigJson!), c.TextEncoder2!, options);
        var outputs = RunClip(bigG, SingleFileTestCheckpoints.OpenClipCase);
        Assert.Contains(outputs, o => o.Name == "text_embeds");
        AssertMatchesGoldenClip(SingleFileTestCheckpoints.OpenClipCase, outputs, expectedOutputs: 7);
    }

    [Fact]
    public void SdTextEncoder_FromSingleFile_MatchesGolden_WithoutTheLastResblockAndProjection()
    {
        using var c = files.OpenSd();
        var config = ClipTextConfig.FromJson(c.TextEncoderConfigJson);
        Assert.False(config.HasProjection);
        // The file has 5 resblocks (the last one is SD 2.x's unused layer) and a text_projection; the view offers neither.
        Assert.DoesNotContain(c.TextEncoder.Names, n => n.StartsWith("text_model.encoder.layers.4.", StringComparison.Ordinal) || n.StartsWith("text_projection", StringComparison.Ordinal));

        var graph = ClipTextModel.Build(config, c.TextEncoder, new ClipTextBuildOptions { OutputHiddenStates = true });
        var outputs = RunClip(graph, SingleFileTestCheckpoints.OpenClipCase);
        Assert.Contains(outputs, o => o.Name == "pooler_output");
        AssertMatchesGoldenClip(SingleFileTestCheckpoints.OpenClipCase, outputs, expectedOutputs: 7);
    }

    [Fact]
    public void SdTextEncoder_UnderTheSgmPrefix_IsFoundToo()
    {
        string path = Path.Combine(Scratch, "sgm.safetensors");
        SingleFileTestCheckpoints.WriteSd(path, textPrefix: "conditioner.embedders.0.model.");
        using var c = SingleFileCheckpoint.Open(path, files.Tokenizer, null, SingleFileTestCheckpoints.SdConfigs());
        Assert.Equal(ModelFamily.Sd, c.Family);
        Assert.Equal("conditioner.embedders.0.model.transformer.resblocks.2.mlp.c_fc.weight",
            ((RenamedCheckpoint)c.TextEncoder).MappingOf("text_model.encoder.layers.2.mlp.fc1.weight").SourceName);
        var graph = ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder);
        AssertMatchesGoldenClip(SingleFileTestCheckpoints.OpenClipCase, RunClip(graph, SingleFileTestCheckpoints.OpenClipCase), expectedOutputs: 2);
    }

    [Fact]
    public void Components_CarryConfigsTokenizersSourceAndHash()
    {
        using var xl = files.OpenSdxl();
        Assert.Equal(SingleFileTestCheckpoints.SdxlConfigs().UnetConfigJson, xl.UnetConfigJson);
        Assert.Equal(KnownConfigs.SdxlTurbo.SchedulerConfigJson, xl.SchedulerConfigJson);
        Assert.Equal(files.Tokenizer, xl.TokenizerDir);
        Assert.Equal(files.Tokenizer2, xl.Tokenizer2Dir);
        Assert.Contains("sdxl_tiny.safetensors", xl.Source);
        Assert.Single(xl.Owned);

        using var sd = files.OpenSd();
        Assert.Null(sd.TextEncoder2);
        Assert.Null(sd.TextEncoder2ConfigJson);
        Assert.Null(sd.Tokenizer2Dir);
        Assert.NotEqual(xl.ContentHash, sd.ContentHash);
        using (var again = files.OpenSdxl())
        {
            Assert.Equal(xl.ContentHash, again.ContentHash);
        }
    }

    [Fact]
    public void ContentHash_ChangesWithTheConfigsAndTokenizers_NotJustTheWeights()
    {
        using var xl = files.OpenSdxl();
        var otherScheduler = SingleFileTestCheckpoints.SdxlConfigs() with { SchedulerConfigJson = KnownConfigs.SdTurbo.SchedulerConfigJson };
        using var rescheduled = SingleFileCheckpoint.Open(files.Sdxl, files.Tokenizer, files.Tokenizer2, otherScheduler);
        Assert.NotEqual(xl.ContentHash, rescheduled.ContentHash);
        using var swappedTokenizers = SingleFileCheckpoint.Open(files.Sdxl, files.Tokenizer2, files.Tokenizer, SingleFileTestCheckpoints.SdxlConfigs());
        Assert.NotEqual(xl.ContentHash, swappedTokenizers.ContentHash);
    }

    [Fact]
    public void RenamedViews_ReadEveryMappedTensorFromTheSingleFile()
    {
        using var c = files.OpenSdxl();
        var clip = (RenamedCheckpoint)c.TextEncoder2!;
        var q = clip.MappingOf("text_model.encoder.layers.1.self_attn.v_proj.weight");
        Assert.Equal(("conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight", TensorTransform.Chunk, 2, 3),
            (q.SourceName, q.Transform, q.ChunkIndex, q.ChunkCount));
        var vae = (RenamedCheckpoint)c.Vae;
        Assert.Equal("first_stage_model.decoder.up.3.block.0.conv1.weight", vae.MappingOf("decoder.up_blocks.0.resnets.0.conv1.weight").SourceName);
        Assert.Equal(TensorTransform.ConvToLinear, vae.MappingOf("decoder.mid_block.attentions.0.to_q.weight").Transform);
        Assert.Equal([32L, 32L], vae.Shape("decoder.mid_block.attentions.0.to_q.weight"));

        // The golden tensor comes back unchanged through the view.
        using var golden = SafetensorsFile.Open(Path.Combine(TestPaths.GoldenCase(SingleFileTestCheckpoints.OpenClipCase), "model.safetensors"));
        Assert.Equal(golden.ReadFloat32("text_model.encoder.layers.1.self_attn.v_proj.weight"), clip.ReadFloat32("text_model.encoder.layers.1.self_attn.v_proj.weight"));
        Assert.Equal(golden.ReadFloat32("text_projection.weight"), clip.ReadFloat32("text_projection.weight"));
    }

    // ---- key checks and errors -------------------------------------------------------------------------------

    [Fact]
    public void MissingAndUnexpectedKeys_AreAllListed()
    {
        string path = Path.Combine(Scratch, "broken.safetensors");
        string[] dropped = ["model.diffusion_model.out.2.weight", "conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight", "first_stage_model.decoder.up.2.upsample.conv.bias"];
        SafetensorsWriter.Tensor Extra(string name) => SafetensorsWriter.Tensor.FromArray(name, SafetensorsDType.F32, [2], new[] { 1f, 2f });
        SingleFileTestCheckpoints.WriteSdxl(path, keep: k => !dropped.Contains(k),
            extra: [Extra("model.diffusion_model.input_blocks.99.0.op.weight"), Extra("first_stage_model.loss.logvar"), Extra("model_ema.decay"), Extra("denoiser.sigmas")]);

        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs()));
        log.WriteLine(e.Message);
        Assert.Contains("Missing 3 tensor(s)", e.Message);
        foreach (string k in dropped) Assert.Contains(k, e.Message);
        Assert.Contains("Unexpected 2 tensor(s): first_stage_model.loss.logvar, model.diffusion_model.input_blocks.99.0.op.weight", e.Message);
        Assert.DoesNotContain("model_ema.decay", e.Message);   // known training leftovers are ignored
        Assert.DoesNotContain("denoiser.sigmas", e.Message);
    }

    [Fact]
    public void ExtraOpenClipLayers_BeyondTheOneUnusedLayer_AreUnexpected()
    {
        // SD 2.x may carry exactly one layer more than the config (the skipped last resblock); a second one is another model.
        string path = Path.Combine(Scratch, "extra-layer.safetensors");
        SingleFileTestCheckpoints.WriteSd(path, extra: [SafetensorsWriter.Tensor.FromArray("cond_stage_model.model.transformer.resblocks.5.ln_1.weight", SafetensorsDType.F32, [40], new float[40])]);
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(path, files.Tokenizer, null, SingleFileTestCheckpoints.SdConfigs()));
        Assert.Contains("Unexpected 1 tensor(s): cond_stage_model.model.transformer.resblocks.5.ln_1.weight", e.Message);
    }

    [Fact]
    public void WrongShapes_AreReportedByTheBuilder()
    {
        // Open checks names; shapes are checked against the config by the architecture builder, with the view's names.
        string path = Path.Combine(Scratch, "shape.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(path, keep: k => k != "model.diffusion_model.out.2.bias",
            extra: [SafetensorsWriter.Tensor.FromArray("model.diffusion_model.out.2.bias", SafetensorsDType.F32, [5], new float[5])]);
        using var c = SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs());
        var e = Assert.Throws<ModelLoadException>(() => Unet2DConditionModel.Build(UnetConfig.FromJson(c.UnetConfigJson), c.Unet));
        Assert.Contains("conv_out.bias is [5], expected [4]", e.Message);
        Assert.Contains("UNet of", e.Message);
    }

    [Fact]
    public void MissingTokenizers_FailWithWhatToDo()
    {
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(files.Sdxl, null, null, SingleFileTestCheckpoints.SdxlConfigs()));
        log.WriteLine(e.Message);
        Assert.Contains("carries no tokenizer", e.Message);
        Assert.Contains("no tokenizer folder was given; no tokenizer_2 folder was given", e.Message);
        Assert.Contains("tokenizer/ and tokenizer_2/ of stabilityai/sdxl-turbo", e.Message);

        string empty = Directory.CreateDirectory(Path.Combine(Scratch, "empty")).FullName;
        e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(files.Sdxl, files.Tokenizer, empty, SingleFileTestCheckpoints.SdxlConfigs()));
        Assert.Contains($"the tokenizer_2 folder {empty} has no vocab.json", e.Message);

        string absent = Path.Combine(Scratch, "absent");
        e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(files.Sd, absent, null, SingleFileTestCheckpoints.SdConfigs()));
        Assert.Contains($"the tokenizer folder {absent} does not exist", e.Message);
        Assert.Contains("tokenizer/ of stabilityai/sd-turbo", e.Message);
    }

    [Fact]
    public void FamilyIsDetectedFromTheKeys_AndConfigsOfTheOtherFamilyAreRejected()
    {
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(files.Sd, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs()));
        Assert.Contains("holds an SD 2.x checkpoint, but SDXL configs were given", e.Message);

        string other = Path.Combine(Scratch, "other.safetensors");
        SafetensorsWriter.Write(other, [SafetensorsWriter.Tensor.FromArray("encoder.layer.0.weight", SafetensorsDType.F32, [1], new[] { 1f })]);
        e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(other, files.Tokenizer, null));
        Assert.Contains("is not an SD 1.x / SD 2.x / SDXL single-file checkpoint", e.Message);

        e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(Path.Combine(Scratch, "nothing.safetensors"), files.Tokenizer, null));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void DefaultConfigs_AreThoseOfThePublishedModel()
    {
        // The tiny SDXL file does not have the real SDXL-Turbo layout (e.g. 2 instead of 10 transformer layers in the last block).
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(files.Sdxl, files.Tokenizer, files.Tokenizer2));
        log.WriteLine(e.Message);
        Assert.Contains("does not match the SDXL single-file layout of its configs. Missing", e.Message);
        // CLIP-L has 12 layers in SDXL-Turbo and 3 in the tiny model.
        Assert.Contains("conditioner.embedders.0.transformer.text_model.encoder.layers.11.mlp.fc1.bias", e.Message);
    }

    // ---- content hash -----------------------------------------------------------------------------------------

    [Fact]
    public void ContentHash_IsTheSha256_OrTheHubBlobName()
    {
        string plain = Path.Combine(Scratch, "model.safetensors");
        File.WriteAllBytes(plain, [1, 2, 3, 4]);
        Assert.Equal(Sha256(plain), FileContentId.Of(plain, Scratch));
        Assert.Equal("9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a", FileContentId.Of(plain, Scratch));

        // A changed file is hashed again (the sidecar is keyed by length and write time too).
        File.WriteAllBytes(plain, [1, 2, 3, 4, 5]);
        Assert.Equal(Sha256(plain), FileContentId.Of(plain, Scratch));

        // huggingface_hub cache: snapshots/<rev>/file → ../../blobs/<sha256>; the blob name is used without reading the file.
        string repo = Path.Combine(Scratch, "models--stabilityai--sd-turbo");
        string blobName = new string('a', 64);
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        File.WriteAllBytes(Path.Combine(repo, "blobs", blobName), [9, 9]);
        string snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", "0123abc")).FullName;
        string link = Path.Combine(snapshot, "sd_turbo.safetensors");
        File.CreateSymbolicLink(link, Path.Combine("..", "..", "blobs", blobName));
        Assert.Equal(blobName, FileContentId.Of(link, Scratch));
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static InferenceSession Session(GraphBuilder graph) => new(graph.ToBytes(), new SessionOptions { IntraOpNumThreads = 2 });

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        double rel = GoldenTensors.RelativeError(actual, expected);
        log.WriteLine($"{what}: relative error {rel:E2}");
        Assert.True(rel <= Tolerance, $"{what}: relative error {rel:E3} > {Tolerance}");
    }

    private static (float[] Data, long[] Shape) Run(InferenceSession session, string inputName, float[] input, long[] shape, string outputName)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
        using var ortRunOptions = new RunOptions();
        using var results = session.Run(ortRunOptions, [inputName], [value], [outputName]);
        return (results[0].GetTensorDataAsSpan<float>().ToArray(), results[0].GetTensorTypeAndShape().Shape);
    }

    /// <summary>Channels [from, to) of an NCHW tensor.</summary>
    private static float[] Channels(float[] data, long[] shape, int from, int to)
    {
        long n = shape[0], c = shape[1], hw = shape[2] * shape[3];
        var result = new List<float>();
        for (long b = 0; b < n; b++)
        {
            result.AddRange(data.AsSpan((int)((b * c + from) * hw), (int)((to - from) * hw)).ToArray());
        }
        return [.. result];
    }

    private static List<(string Name, float[] Values, long[] Shape)> RunClip(GraphBuilder graph, string caseName)
    {
        using var inputs = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(caseName), "inputs.safetensors"));
        using var session = Session(graph);
        using var ids = OrtValue.CreateTensorValueFromMemory(inputs.Int64("input_ids"), inputs.Shape("input_ids"));
        var names = session.OutputNames.ToArray();
        // Held in a variable: an inline RunOptions can be finalized by the GC while ONNX Runtime still uses it.
        using var ortRunOptions = new RunOptions();
        using var outputs = session.Run(ortRunOptions, ["input_ids"], [ids], names);
        return names.Select((n, i) => (n, outputs[i].GetTensorDataAsSpan<float>().ToArray(), outputs[i].GetTensorTypeAndShape().Shape)).ToList();
    }

    private void AssertMatchesGoldenClip(string caseName, List<(string Name, float[] Values, long[] Shape)> outputs, int expectedOutputs)
    {
        Assert.Equal(expectedOutputs, outputs.Count);
        using var golden = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(caseName), "outputs.safetensors"));
        foreach (var (name, values, shape) in outputs)
        {
            Assert.True(golden.Contains(name), $"golden {caseName} has no output '{name}'");
            Assert.Equal(golden.Shape(name), shape);
            AssertClose(golden.Float(name), values, $"{caseName} {name}");
        }
    }
}

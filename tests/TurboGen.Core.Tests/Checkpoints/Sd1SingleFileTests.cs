using Microsoft.ML.OnnxRuntime;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>
/// SD 1.x single files (ldm v1 layout: <c>model.diffusion_model.*</c>, <c>first_stage_model.*</c>,
/// <c>cond_stage_model.transformer.text_model.*</c> = CLIP ViT-L alone): detected as SD 1.x, each network equal to its golden
/// reference (unet_sd15_tiny, clip_text_tiny's last_hidden_state, vae_tiny) and the whole pipeline equal to the same networks
/// loaded from a diffusers folder.
/// </summary>
public sealed class Sd1SingleFileTests(ITestOutputHelper log) : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string _dir = TestPaths.NewTempDir("turbogen-sd1-single");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(Func<string, bool>? keep = null)
    {
        string path = Path.Combine(_dir, $"sd1-{Guid.NewGuid():N}.safetensors");
        SingleFileTestCheckpoints.WriteSd1(path, keep);
        return path;
    }

    private string Tokenizer()
    {
        string dir = Path.Combine(_dir, "tokenizer");
        if (!Directory.Exists(dir)) ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, dir, "<|endoftext|>");
        return dir;
    }

    [Fact]
    public void TheBaseModel_IsReadFromTheTextEncoderKeys()
    {
        string[] unet = ["model.diffusion_model.out.2.bias"];
        Assert.Equal(SingleFileBase.Sd1, SingleFileLayout.DetectBase([.. unet, "cond_stage_model.transformer.text_model.final_layer_norm.bias"]));
        Assert.Equal(SingleFileBase.Sd2, SingleFileLayout.DetectBase([.. unet, "cond_stage_model.model.ln_final.bias"]));
        Assert.Equal(SingleFileBase.Sd2, SingleFileLayout.DetectBase([.. unet, "conditioner.embedders.0.model.ln_final.bias"]));
        Assert.Equal(SingleFileBase.Sdxl, SingleFileLayout.DetectBase([.. unet, "conditioner.embedders.0.transformer.text_model.final_layer_norm.bias", "conditioner.embedders.1.model.ln_final.bias"]));
        Assert.Null(SingleFileLayout.DetectBase(["cond_stage_model.transformer.text_model.final_layer_norm.bias"]));
        Assert.Equal(ModelFamily.Sd, SingleFileLayout.DetectFamily([.. unet, "cond_stage_model.transformer.text_model.final_layer_norm.bias"]));
        Assert.Equal(SingleFileLayout.Sd1ClipLPrefix, SingleFileLayout.SdTextEncoderPrefixOf([.. unet, "cond_stage_model.transformer.text_model.final_layer_norm.bias"]));
    }

    [Fact]
    public void TheTextEncoder_IsClipL_UnderTransformersNames_AndMatchesGolden()
    {
        using var c = SingleFileCheckpoint.Open(WriteFile(), Tokenizer(), null, SingleFileTestCheckpoints.Sd1Configs());
        Assert.Equal(ModelFamily.Sd, c.Family);
        Assert.Null(c.TextEncoder2);
        Assert.Equal("cond_stage_model.transformer.text_model.encoder.layers.2.mlp.fc1.weight",
            ((RenamedCheckpoint)c.TextEncoder).MappingOf("text_model.encoder.layers.2.mlp.fc1.weight").SourceName);

        // SD 1.x conditions on last_hidden_state (after final_layer_norm): clip_text_tiny's reference numbers, all layers read.
        var graph = ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder, new ClipTextBuildOptions { OutputHiddenStates = true });
        using var inputs = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(SingleFileTestCheckpoints.ClipCase), "inputs.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(TestPaths.GoldenCase(SingleFileTestCheckpoints.ClipCase), "outputs.safetensors"));
        using var session = new InferenceSession(graph.ToBytes(), new SessionOptions { IntraOpNumThreads = 2 });
        using var ids = OrtValue.CreateTensorValueFromMemory(inputs.Int64("input_ids"), inputs.Shape("input_ids"));
        using var runOptions = new RunOptions();
        var names = session.OutputNames.ToArray();
        Assert.Contains("last_hidden_state", names);
        using var outputs = session.Run(runOptions, ["input_ids"], [ids], names);
        for (int i = 0; i < names.Length; i++)
        {
            AssertClose(golden.Float(names[i]), outputs[i].GetTensorDataAsSpan<float>().ToArray(), names[i]);
        }
    }

    [Fact]
    public void AnEarlyFineTune_WithoutTheTextModelLevel_ReadsTheSameTextEncoder()
    {
        string legacy = Path.Combine(_dir, "legacy.safetensors");
        SingleFileTestCheckpoints.WriteSd1(legacy, legacyClipNames: true);
        using (var file = new SafetensorsCheckpoint(legacy))
        {
            Assert.Contains("cond_stage_model.transformer.encoder.layers.0.mlp.fc1.weight", file.Names);
            Assert.DoesNotContain(file.Names, n => n.Contains("text_model.", StringComparison.Ordinal));
            Assert.True(SingleFileLayout.HasLegacyClipNames(file.Names));
            Assert.Equal(SingleFileBase.Sd1, SingleFileLayout.DetectBase(file.Names));
        }
        using var modern = SingleFileCheckpoint.Open(WriteFile(), Tokenizer(), null, SingleFileTestCheckpoints.Sd1Configs());
        using var old = SingleFileCheckpoint.Open(legacy, Tokenizer(), null, SingleFileTestCheckpoints.Sd1Configs());
        Assert.Equal("cond_stage_model.transformer.final_layer_norm.weight",
            ((RenamedCheckpoint)old.TextEncoder).MappingOf("text_model.final_layer_norm.weight").SourceName);
        var build = (CheckpointComponents c) =>
            ClipTextModel.Build(ClipTextConfig.FromJson(c.TextEncoderConfigJson), c.TextEncoder, new ClipTextBuildOptions()).ToBytes();
        Assert.Equal(build(modern), build(old));

        // A file that mixes the two namings is neither: the key check names what is missing and what is left over.
        string mixed = Path.Combine(_dir, "mixed.safetensors");
        SingleFileTestCheckpoints.WriteSd1(mixed, keep: n => n != "cond_stage_model.transformer.text_model.final_layer_norm.bias",
            extra: [SafetensorsWriter.Tensor.FromArray("cond_stage_model.transformer.final_layer_norm.bias", SafetensorsDType.F32, [32], new float[32])]);
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(mixed, Tokenizer(), null, SingleFileTestCheckpoints.Sd1Configs()));
        Assert.Contains("text_model.final_layer_norm.bias", e.Message);
        Assert.Contains("mixed.safetensors", e.Message);
    }

    [Fact]
    public void TheUnetAndVae_MatchTheirGoldenCases()
    {
        using var c = SingleFileCheckpoint.Open(WriteFile(), Tokenizer(), null, SingleFileTestCheckpoints.Sd1Configs());
        AssertUnetMatchesGolden(c, SingleFileTestCheckpoints.Sd1UnetCase);

        string vaeDir = TestPaths.GoldenCase(SingleFileTestCheckpoints.VaeCase);
        using var vaeInputs = new GoldenTensors(Path.Combine(vaeDir, "inputs.safetensors"));
        using var vaeOutputs = new GoldenTensors(Path.Combine(vaeDir, "outputs.safetensors"));
        using var decoder = new InferenceSession(AutoencoderKl.BuildDecoder(AutoencoderKlConfig.FromJson(c.VaeConfigJson), c.Vae).ToBytes(), new SessionOptions { IntraOpNumThreads = 2 });
        using var latent = OrtValue.CreateTensorValueFromMemory(vaeInputs.Float("latent"), vaeInputs.Shape("latent"));
        using var vaeRun = new RunOptions();
        using var decoded = decoder.Run(vaeRun, ["latent_sample"], [latent], ["sample"]);
        AssertClose(vaeOutputs.Float("decoded"), decoded[0].GetTensorDataAsSpan<float>().ToArray(), "vae decoded");
    }

    [Fact]
    public void AnInpaintingFile_GetsTheInChannelsOfItsFirstConvolution_AndMatchesGolden()
    {
        // As diffusers' single-file loader: in_channels from input_blocks.0.0.weight (sd-v1-5-inpainting: 9).
        string plain = WriteFile(), inpaint = Path.Combine(_dir, "inpaint.safetensors");
        SingleFileTestCheckpoints.WriteSd1(inpaint, unetCase: "unet_sd15_inpaint_tiny");
        var configs = SingleFileTestCheckpoints.Sd1Configs();
        using (var file = new SafetensorsCheckpoint([plain]))
        {
            Assert.Same(configs, SingleFileCheckpoint.WithInChannelsOf(file, configs));
        }
        ModelConfigSet inpaintConfigs;
        using (var file = new SafetensorsCheckpoint([inpaint]))
        {
            inpaintConfigs = SingleFileCheckpoint.WithInChannelsOf(file, configs);
        }
        Assert.Equal(9, UnetConfig.FromJson(inpaintConfigs.UnetConfigJson).InChannels);

        using var c = SingleFileCheckpoint.Open(inpaint, Tokenizer(), null, inpaintConfigs);
        AssertUnetMatchesGolden(c, "unet_sd15_inpaint_tiny");
    }

    [Fact]
    public void WithoutConfigs_TheSd15ConfigsAreUsed_AndTheKeyCheckNamesSd1()
    {
        // The tiny file does not have SD 1.5's sizes: the check against the published SD 1.5 layout lists CLIP-L's 12th layer.
        var e = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(WriteFile(), Tokenizer(), null));
        log.WriteLine(e.Message);
        Assert.Contains("does not match the SD 1.x single-file layout of its configs", e.Message);
        Assert.Contains("cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc1.bias", e.Message);
        Assert.DoesNotContain("cond_stage_model.model.", e.Message);

        var missing = Assert.Throws<ModelLoadException>(() => SingleFileCheckpoint.Open(WriteFile(), null, null, SingleFileTestCheckpoints.Sd1Configs()));
        Assert.Contains("An SD 1.x checkpoint needs a CLIP ViT-L tokenizer folder padding with <|endoftext|>", missing.Message);
    }

    [Fact]
    public void Sd15Configs_DescribeSd15()
    {
        var set = SingleFileBase.Sd1.KnownConfigs();
        Assert.Same(KnownConfigs.Sd15, set);
        var text = ClipTextConfig.FromJson(set.TextEncoderConfigJson);
        Assert.Equal((768, 12, "quick_gelu", false), (text.HiddenSize, text.NumHiddenLayers, text.HiddenAct, text.HasProjection));
        var unet = UnetConfig.FromJson(set.UnetConfigJson);
        Assert.Equal(768, unet.CrossAttentionDim);
        Assert.Equal(859_520_964L, UnetCheckpointLayout.ParameterCount(unet));   // SD 1.5's published count
        // Every tensor a full-size SD 1.5 file holds maps (the layout accepts its own source list).
        var layout = SingleFileLayout.For(set, SingleFileLayout.Sd1ClipLPrefix);
        Assert.Equal(SingleFileBase.Sd1, layout.Base);
        var (missingKeys, unexpected) = layout.Compare(layout.SourceTensors().Select(t => t.Name));
        Assert.Empty(missingKeys);
        Assert.Empty(unexpected);
        Assert.Contains(layout.SourceTensors(), t => t.Name == "cond_stage_model.transformer.text_model.embeddings.position_ids");
    }

    [Fact]
    public void AModelBuiltFromTheSingleFile_GeneratesTheSameImageAsTheDiffusersFolder()
    {
        string file = WriteFile();
        string folder = GoldenDiffusersFolder.WriteSd(Path.Combine(_dir, "diffusers"), SingleFileTestCheckpoints.Sd1UnetCase, KnownConfigs.Sd15.SchedulerConfigJson);
        string cache = Path.Combine(_dir, "cache");
        var bases = new List<SingleFileBase>();
        var options = new ModelResolveOptions
        {
            CacheRoot = cache,
            SingleFileConfigs = SingleFileTestCheckpoints.Sd1Configs(),
            TokenizerSource = (b, _) =>
            {
                bases.Add(b);
                return (Path.Combine(folder, "tokenizer"), null);
            },
        };
        string fromFile = ModelResolver.Resolve(file, options);
        string fromFolder = ModelResolver.Resolve(folder, options);
        Assert.Equal([SingleFileBase.Sd1], bases);
        Assert.NotEqual(fromFolder, fromFile);

        var request = new GenerationRequest { Prompt = "a photo of a cat", NegativePrompt = "blurry", Seed = 5, Width = 64, Height = 64, Steps = 2, GuidanceScale = 3f };
        byte[] Pixels(string built)
        {
            using var model = TurboModel.Load(built);
            Assert.Equal(ModelFamily.Sd, model.Family);
            return new TurboPipeline(model).Generate(request).Images[0].Pixels;
        }
        byte[] a = Pixels(fromFile);
        Assert.Equal(Pixels(fromFolder), a);
        Assert.Contains(a, p => p != a[0]);
    }

    private void AssertUnetMatchesGolden(CheckpointComponents c, string caseName)
    {
        var unet = Unet2DConditionModel.Build(UnetConfig.FromJson(c.UnetConfigJson), c.Unet, new UnetBuildOptions { Timestep = TimestepInput.VectorFloat });
        string dir = TestPaths.GoldenCase(caseName);
        using var inputs = new GoldenTensors(Path.Combine(dir, "inputs.safetensors"));
        using var outputs = new GoldenTensors(Path.Combine(dir, "outputs.safetensors"));
        using var session = new InferenceSession(unet.ToBytes(), new SessionOptions { IntraOpNumThreads = 2 });
        var names = inputs.Names.ToList();
        var values = names.Select(n => OrtValue.CreateTensorValueFromMemory(inputs.Float(n), inputs.Shape(n))).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, values, ["out_sample"]);
            AssertClose(outputs.Float("sample"), results[0].GetTensorDataAsSpan<float>().ToArray(), caseName + " out_sample");
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private void AssertClose(float[] expected, float[] actual, string what)
    {
        double rel = GoldenTensors.RelativeError(actual, expected);
        log.WriteLine($"{what}: relative error {rel:E2}");
        Assert.True(rel <= Tolerance, $"{what}: relative error {rel:E3} > {Tolerance}");
    }
}

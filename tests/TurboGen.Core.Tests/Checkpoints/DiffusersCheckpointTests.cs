using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Core.Tests.Building;
using TurboGen.Testing;
using TurboGen.Weights;

namespace TurboGen.Core.Tests.Checkpoints;

/// <summary>One golden diffusers folder for the test class; each test changes its own copy.</summary>
public sealed class GoldenDiffusersTemplate : IDisposable
{
    public string Dir { get; } = GoldenDiffusersFolder.Write(Path.Combine(TestPaths.NewTempDir("turbogen-template"), "sdxl"));

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(Dir)!, recursive: true);
}

public sealed class DiffusersCheckpointTests(GoldenDiffusersTemplate template) : IClassFixture<GoldenDiffusersTemplate>, IDisposable
{
    private readonly string _scratch = TestPaths.NewTempDir("turbogen-diffusers");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private string Copy()
    {
        string dir = Path.Combine(_scratch, "model");
        BuiltModelCacheTests.CopyDirectory(template.Dir, dir);
        return dir;
    }

    [Fact]
    public void Open_ReadsEveryComponent()
    {
        string dir = Copy();
        using var c = DiffusersCheckpoint.Open(dir, _scratch);
        Assert.Equal(ModelFamily.Sdxl, c.Family);
        Assert.Equal(dir, c.Source);
        Assert.Contains("text_model.embeddings.token_embedding.weight", c.TextEncoder.Names);
        Assert.Contains("text_projection.weight", c.TextEncoder2!.Names);
        Assert.Contains("conv_in.weight", c.Unet.Names);
        Assert.Contains("decoder.conv_in.weight", c.Vae.Names);
        Assert.Contains("EulerAncestralDiscreteScheduler", c.SchedulerConfigJson);
        Assert.Contains("force_zeros_for_empty_prompt", c.ModelIndexJson);
        Assert.Equal(Path.Combine(dir, "tokenizer_2"), c.Tokenizer2Dir);
    }

    [Fact]
    public void WithoutTextEncoder2_ItIsTheSdFamily()
    {
        string dir = Copy();
        Directory.Delete(Path.Combine(dir, "text_encoder_2"), true);
        Directory.Delete(Path.Combine(dir, "tokenizer_2"), true);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), """{"_class_name": "StableDiffusionPipeline", "text_encoder_2": [null, null]}""");
        using var c = DiffusersCheckpoint.Open(dir, _scratch);
        Assert.Equal(ModelFamily.Sd, c.Family);
        Assert.Null(c.TextEncoder2);
        // The golden UNet is SDXL's, so building must say the components do not fit.
        var e = Assert.Throws<ModelLoadException>(() => OnnxModelBuilder.Build(c, Path.Combine(_scratch, "out")));
        Assert.Contains("do not fit together", e.Message);
        Assert.Contains("cross_attention_dim", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_scratch, "out")));
    }

    public static TheoryData<string, string, string> MissingPieces() => new()
    {
        // removed path, what the message must name, what it must say is expected
        { "vae", "vae", "config.json and safetensors weights" },
        { "unet/diffusion_pytorch_model.safetensors", "unet", "diffusion_pytorch_model.safetensors" },
        { "text_encoder/config.json", Path.Combine("text_encoder", "config.json"), "text_encoder config" },
        { "tokenizer_2", Path.Combine("tokenizer_2", "vocab.json"), "CLIP tokenizer folder" },
        { "model_index.json", "model_index.json", "pipeline index" },
        { "scheduler", Path.Combine("scheduler", "scheduler_config.json"), "scheduler config" },
    };

    [Theory]
    [MemberData(nameof(MissingPieces))]
    public void AMissingPiece_IsAModelLoadException_NamingThePathAndWhatWasExpected(string removed, string named, string expected)
    {
        string dir = Copy();
        string path = Path.Combine(dir, removed);
        if (Directory.Exists(path)) Directory.Delete(path, true); else File.Delete(path);

        var e = Assert.Throws<ModelLoadException>(() => DiffusersCheckpoint.Open(dir, _scratch));

        Assert.Contains(Path.Combine(dir, named), e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ModelIndexListingTextEncoder2_WithoutTheFolder_IsAnError()
    {
        string dir = Copy();
        Directory.Delete(Path.Combine(dir, "text_encoder_2"), true);
        var e = Assert.Throws<ModelLoadException>(() => DiffusersCheckpoint.Open(dir, _scratch));
        Assert.Contains("lists text_encoder_2", e.Message);
    }

    [Fact]
    public void PickledWeightsOnly_SaysOnlySafetensorsAreRead()
    {
        string dir = Copy();
        File.Move(Path.Combine(dir, "vae", "diffusion_pytorch_model.safetensors"), Path.Combine(dir, "vae", "diffusion_pytorch_model.bin"));
        var e = Assert.Throws<ModelLoadException>(() => DiffusersCheckpoint.Open(dir, _scratch));
        Assert.Contains("diffusion_pytorch_model.bin", e.Message);
        Assert.Contains("Only safetensors", e.Message);
    }

    [Fact]
    public void WeightFiles_PreferFullPrecision_ThenFp16_AndReadShardIndexes()
    {
        string dir = Path.Combine(_scratch, "unet");
        Directory.CreateDirectory(dir);
        string golden = Path.Combine(TestPaths.GoldenCase("unet_sdxl_tiny"), "diffusion_pytorch_model.safetensors");

        GoldenDiffusersFolder.WriteF16Copy(golden, Path.Combine(dir, "diffusion_pytorch_model.fp16.safetensors"));
        Assert.Equal([Path.Combine(dir, "diffusion_pytorch_model.fp16.safetensors")], DiffusersCheckpoint.WeightFiles(dir));

        File.Copy(golden, Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        Assert.Equal([Path.Combine(dir, "diffusion_pytorch_model.safetensors")], DiffusersCheckpoint.WeightFiles(dir));

        // A sharded checkpoint: two shards named by the index's weight_map.
        string sharded = Path.Combine(_scratch, "sharded");
        Directory.CreateDirectory(sharded);
        using var source = SafetensorsFile.Open(golden);
        var names = source.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new Dictionary<string, string>();
        for (int i = 0; i < 2; i++)
        {
            string file = $"diffusion_pytorch_model-0000{i + 1}-of-00002.safetensors";
            TestCheckpoints.CopyRenamed(golden, Path.Combine(sharded, file), n => shards[i].Contains(n) ? n : null);
            foreach (string n in shards[i]) map[n] = file;
        }
        File.WriteAllText(Path.Combine(sharded, "diffusion_pytorch_model.safetensors.index.json"),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        var files = DiffusersCheckpoint.WeightFiles(sharded);
        Assert.Equal(2, files.Count);
        using var checkpoint = new SafetensorsCheckpoint([.. files]);
        Assert.Equal(names, checkpoint.Names.Order(StringComparer.Ordinal));
    }
}

using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Issue 14, fuzzing through the CLI: a sample of the damaged model files the Core fuzz tests generate (truncated and header-lied
/// safetensors, garbage ONNX, a wrongly typed config, a LoRA for another model) given to the real process: exit code 3, one message
/// naming the file, no stack trace.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ModelFileErrorTests(CliFixture fixture)
{
    [Fact]
    public async Task DamagedSingleFiles_Exit3NamingTheFile()
    {
        string work = fixture.NewWorkDir();
        string single = Path.Combine(work, "good.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(single);
        byte[] original = File.ReadAllBytes(single);
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(work, "tok", "tokenizer"), "<|endoftext|>");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(work, "tok", "tokenizer_2"), "!");

        var damaged = new List<(byte[] Bytes, string What)>();
        for (int seed = 0; damaged.Count < 2; seed++) damaged.Add(ModelFileCorruptions.Truncate(original, new Random(seed)));
        for (int seed = 0; damaged.Count < 5 && seed < 500; seed++)
        {
            var lie = ModelFileCorruptions.LieInHeader(original, new Random(seed));
            if (lie.What.StartsWith("length prefix", StringComparison.Ordinal) || lie.What.StartsWith("header is not", StringComparison.Ordinal)
                || lie.What.EndsWith("end offset past the data", StringComparison.Ordinal))
            {
                damaged.Add(lie);
            }
        }
        Assert.Equal(5, damaged.Count);
        var env = fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1"));
        for (int i = 0; i < damaged.Count; i++)
        {
            string name = $"damaged-{i}.safetensors";
            File.WriteAllBytes(Path.Combine(work, name), damaged[i].Bytes);
            var run = await CliProcess.RunAsync(env, work, "convert", name, $"out-{i}", "--tokenizer", "tok");
            Assert.True(run.ExitCode == 3, $"{damaged[i].What}: {run}");
            Assert.Contains(name, run.Stderr);
            Assert.DoesNotContain("single-file layout", run.Stderr);   // refused while reading the file, not later by the key check
            Assert.DoesNotContain("   at ", run.Stderr);
            Assert.False(Directory.Exists(Path.Combine(work, $"out-{i}")));
        }
    }

    [Fact]
    public async Task GarbageOnnx_Exits3NamingTheFile()
    {
        string work = fixture.NewWorkDir();
        string model = Path.Combine(work, "model");
        foreach (string file in Directory.EnumerateFiles(fixture.ModelFolder, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(model, Path.GetRelativePath(fixture.ModelFolder, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        string unet = Path.Combine(model, "unet", "model.onnx");
        foreach (int seed in new[] { 1, 2 })
        {
            var (bytes, what) = ModelFileCorruptions.GarbageOrTruncatedOnnx(File.ReadAllBytes(Path.Combine(fixture.ModelFolder, "unet", "model.onnx")), new Random(seed));
            File.WriteAllBytes(unet, bytes);
            var run = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "model", "--size", "64x64", "--threads", "1");
            Assert.True(run.ExitCode == 3, $"{what}: {run}");
            Assert.Contains(Path.Combine("unet", "model.onnx"), run.Stderr);
            Assert.DoesNotContain("   at ", run.Stderr);
        }
    }

    [Fact]
    public async Task WronglyTypedConfig_AndALoraForAnotherModel_Exit3NamingTheFile()
    {
        string work = fixture.NewWorkDir();
        string model = GoldenDiffusersFolder.Write(Path.Combine(work, "diffusers"));
        string config = Path.Combine(model, "unet", "config.json");
        string original = File.ReadAllText(config);
        var node = System.Text.Json.Nodes.JsonNode.Parse(original)!;
        node["layers_per_block"] = "two";
        File.WriteAllText(config, node.ToJsonString());
        var bad = await fixture.RunInAsync(fixture.NewHome(), work, "convert", "diffusers", "out");
        Assert.True(bad.ExitCode == 3, bad.ToString());
        Assert.Contains("layers_per_block", bad.Stderr);
        Assert.Contains(Path.Combine("unet", "config.json"), bad.Stderr);
        File.WriteAllText(config, original);

        // A LoRA whose down matrix is wider than the layer it adapts (made for another model).
        string lora = Path.Combine(work, "other-model-lora.safetensors");
        const string module = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q";
        long width;
        using (var unet = SafetensorsFile.Open(Directory.EnumerateFiles(Path.Combine(model, "unet"), "*.safetensors").Single()))
        {
            width = unet.Info("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight").Shape[1];
        }
        SafetensorsWriter.Write(lora,
        [
            SafetensorsWriter.Tensor.FromArray(module + ".lora_down.weight", SafetensorsDType.F32, [4, width + 64], new float[4 * (width + 64)]),
            SafetensorsWriter.Tensor.FromArray(module + ".lora_up.weight", SafetensorsDType.F32, [width, 4], new float[width * 4]),
        ]);
        var run = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "diffusers", "--lora", "other-model-lora.safetensors", "--size", "64x64", "--threads", "1");
        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("other-model-lora.safetensors", run.Stderr);
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public async Task OriginalLayoutLora_Applies_AndAnUnknownKey_WarnsOrWithLoraStrictFails_NamingTheKey()
    {
        string work = fixture.NewWorkDir();
        string model = GoldenDiffusersFolder.Write(Path.Combine(work, "diffusers"));
        long[] shape;
        using (var unet = SafetensorsFile.Open(Directory.EnumerateFiles(Path.Combine(model, "unet"), "*.safetensors").Single()))
        {
            shape = unet.Info("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight").Shape;
        }
        // kohya's SDXL naming: input_blocks.4.1 is down_blocks.1.attentions.0 of this UNet (2 layers per block).
        const string module = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q";
        var random = new Random(3);
        float[] Random(long n) => Enumerable.Range(0, (int)n).Select(_ => random.NextSingle() - 0.5f).ToArray();
        SafetensorsWriter.Write(Path.Combine(work, "sgm-lora.safetensors"),
        [
            SafetensorsWriter.Tensor.FromArray(module + ".lora_down.weight", SafetensorsDType.F32, [2, shape[1]], Random(2 * shape[1])),
            SafetensorsWriter.Tensor.FromArray(module + ".lora_up.weight", SafetensorsDType.F32, [shape[0], 2], Random(shape[0] * 2)),
            SafetensorsWriter.Tensor.FromArray("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.dora_scale", SafetensorsDType.F32, [1, shape[1]], Random(shape[1])),
        ]);
        var warned = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "diffusers", "--lora", "sgm-lora.safetensors:0.8", "--size", "64x64", "--threads", "1", "-o", "a.png");
        Assert.True(warned.ExitCode == 0, warned.ToString());
        Assert.Contains("1 LoRA key(s) matched no model weight and were ignored (1 module(s) applied)", warned.Stderr);
        Assert.Contains(".dora_scale", warned.Stderr);

        var strict = await fixture.RunInAsync(fixture.NewHome(), work, "generate", "a cat", "-m", "diffusers", "--lora", "sgm-lora.safetensors:0.8", "--lora-strict", "--size", "64x64", "--threads", "1", "-o", "b.png");
        Assert.True(strict.ExitCode == 3, strict.ToString());
        Assert.Contains("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.dora_scale", strict.Stderr);
        Assert.False(File.Exists(Path.Combine(work, "b.png")));
    }
}

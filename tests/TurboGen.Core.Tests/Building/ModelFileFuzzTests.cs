using CsCheck;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Checkpoints.Lora;
using TurboGen.Runtime;
using TurboGen.Testing;
using TurboGen.Text;
using TurboGen.Weights;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Building;

/// <summary>The model files the fuzz tests damage, written once: a tiny SDXL single file, its tokenizers, a diffusers folder, an ONNX folder.</summary>
public sealed class FuzzModelFiles : IDisposable
{
    public FuzzModelFiles()
    {
        Dir = TestPaths.NewTempDir("turbogen-model-fuzz");
        string single = Path.Combine(Dir, "sdxl_tiny.safetensors");
        SingleFileTestCheckpoints.WriteSdxl(single);
        SingleFile = File.ReadAllBytes(single);
        Tokenizer = Path.Combine(Dir, "tokenizer");
        Tokenizer2 = Path.Combine(Dir, "tokenizer_2");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Tokenizer, "<|endoftext|>");
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Tokenizer2, "!");
        Diffusers = GoldenDiffusersFolder.Write(Path.Combine(Dir, "diffusers"));
        Onnx = Path.Combine(Dir, "onnx");
        string source = TinyModels.Get(TinyFamily.SdxlTurbo, TinyFlavor.OptimumNew, withTinyVae: false);
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(Onnx, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        using var components = DiffusersCheckpoint.Open(Diffusers, CacheRoot);
        UnetLinears = components.Unet.Names
            .Where(n => n.EndsWith(".weight", StringComparison.Ordinal) && components.Unet.Shape(n).Length == 2)
            .Select(n => ("lora_unet_" + n[..^".weight".Length].Replace('.', '_'), components.Unet.Shape(n)[0], components.Unet.Shape(n)[1]))
            .ToList();
    }

    public string Dir { get; }
    public string CacheRoot => Path.Combine(Dir, "cache");
    public byte[] SingleFile { get; }
    public string Tokenizer { get; }
    public string Tokenizer2 { get; }
    public string Diffusers { get; }
    public string Onnx { get; }
    public IReadOnlyList<(string Module, long Out, long In)> UnetLinears { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>
/// Property-based fuzzing of the model-file loaders (issue 14): CsCheck generates the damage (kind and seed; a failure prints both
/// to replay), <see cref="ModelFileCorruptions"/> applies it, and the real loading code reads the result — the single-file reader,
/// the build's config and key/shape checks and every tensor's bytes, <see cref="TurboModel.Load"/> for ONNX, the LoRA merge. The
/// property: no crash and no exception but <see cref="TurboGenException"/>, and every error names the damaged file. 250 files in
/// the fast suite (<see cref="Scale"/>); TURBOGEN_FUZZ_ITERATIONS multiplies them for the long form.
/// </summary>
public sealed class ModelFileFuzzTests(FuzzModelFiles files, ITestOutputHelper output) : IClassFixture<FuzzModelFiles>
{
    private static readonly ModelLoadOptions FuzzLoadOptions = new() { Runtime = new RuntimeOptions { Threads = 1 } };

    /// <summary>1 in the fast suite; the long form (TURBOGEN_FUZZ_ITERATIONS=N) runs N/100 times as many files.</summary>
    private static int Scale => int.TryParse(Environment.GetEnvironmentVariable("TURBOGEN_FUZZ_ITERATIONS"), out int n) && n >= 100 ? n / 100 : 1;

    [Fact]
    public void Safetensors_TruncatedBitFlippedAndHeaderLied_FailCleanlyNamingTheFile()
    {
        var damage = Gen.Select(Gen.Int[0, 2], Gen.Int, (kind, seed) => (Kind: kind, Seed: seed));
        var outcomes = new Outcomes();
        damage.Sample(d =>
        {
            var random = new Random(d.Seed);
            var (bytes, what) = d.Kind switch
            {
                0 => ModelFileCorruptions.Truncate(files.SingleFile, random),
                1 => ModelFileCorruptions.FlipBits(files.SingleFile, random),
                _ => ModelFileCorruptions.LieInHeader(files.SingleFile, random),
            };
            string path = Path.Combine(files.Dir, $"damaged-{Guid.NewGuid():N}.safetensors");
            File.WriteAllBytes(path, bytes);
            try
            {
                outcomes.Check(path, what, () => LoadSingleFile(path));
            }
            finally
            {
                File.Delete(path);
            }
        }, iter: 150 * Scale, threads: 2, print: d => $"kind {d.Kind} seed {d.Seed}");
        outcomes.Report(output, "safetensors", minimumErrors: 100 * Scale);
    }

    [Fact]
    public void Onnx_TruncatedAndGarbage_FailCleanlyNamingTheFile()
    {
        string[] targets = ["unet/model.onnx", "unet/model.onnx_data", "text_encoder/model.onnx", "text_encoder_2/model.onnx", "vae_decoder/model.onnx"];
        var damage = Gen.Select(Gen.Int[0, targets.Length - 1], Gen.Int, (target, seed) => (Target: targets[target], Seed: seed));
        var outcomes = new Outcomes();
        damage.Sample(d =>
        {
            string path = Path.Combine(files.Onnx, d.Target.Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(path)) return;   // a layout without external data for this component
            byte[] original = File.ReadAllBytes(path);
            var (bytes, what) = ModelFileCorruptions.GarbageOrTruncatedOnnx(original, new Random(d.Seed));
            File.WriteAllBytes(path, bytes);
            try
            {
                outcomes.Check(path, what, () =>
                {
                    using var model = TurboModel.Load(files.Onnx, FuzzLoadOptions);
                });
            }
            finally
            {
                File.WriteAllBytes(path, original);
            }
        }, iter: 40 * Scale, threads: 1, print: d => $"{d.Target} seed {d.Seed}");
        outcomes.Report(output, "onnx", minimumErrors: 30 * Scale);
    }

    [Fact]
    public void Configs_WrongShapedAndTyped_FailCleanlyNamingTheFile()
    {
        string[] configs = ["unet/config.json", "text_encoder/config.json", "text_encoder_2/config.json", "vae/config.json", "model_index.json", "scheduler/scheduler_config.json"];
        var damage = Gen.Select(Gen.Int[0, configs.Length - 1], Gen.Int, (config, seed) => (Config: configs[config], Seed: seed));
        var outcomes = new Outcomes();
        damage.Sample(d =>
        {
            string path = Path.Combine(files.Diffusers, d.Config.Replace('/', Path.DirectorySeparatorChar));
            string original = File.ReadAllText(path);
            var (json, what) = ModelFileCorruptions.MutateConfig(original, new Random(d.Seed));
            File.WriteAllText(path, json);
            try
            {
                // Named: the config file, or its component folder (a mismatch between a config and the weights next to it).
                outcomes.Check(Path.GetDirectoryName(path)!, what, () =>
                {
                    using var components = DiffusersCheckpoint.Open(files.Diffusers, files.CacheRoot);
                    OnnxModelBuilder.Validate(components);
                    TurboGen.Scheduling.Schedulers.Create(TurboGen.Scheduling.SchedulerConfig.FromJson(components.SchedulerConfigJson, path));
                }, acceptFolder: files.Diffusers);
            }
            finally
            {
                File.WriteAllText(path, original);
            }
        }, iter: 40 * Scale, threads: 1, print: d => $"{d.Config} seed {d.Seed}");
        outcomes.Report(output, "configs", minimumErrors: 10 * Scale);
    }

    [Fact]
    public void LorasForTheWrongModel_FailCleanlyNamingTheFile()
    {
        var outcomes = new Outcomes();
        Gen.Int.Sample(seed =>
        {
            string path = ModelFileCorruptions.WriteWrongLora(Path.Combine(files.Dir, $"lora-{Guid.NewGuid():N}.safetensors"), files.UnetLinears, new Random(seed));
            try
            {
                outcomes.Check(path, "a LoRA that does not fit", () =>
                {
                    using var components = DiffusersCheckpoint.Open(files.Diffusers, files.CacheRoot);
                    using var lora = LoraAdapter.Open(path);
                    var (merged, _) = LoraMerge.Apply(components, [(lora, 0.8f)], strict: false);
                    ReadEveryTensor(merged);
                });
            }
            finally
            {
                File.Delete(path);
            }
        }, iter: 40 * Scale, threads: 2, print: seed => $"seed {seed}");
        outcomes.Report(output, "loras", minimumErrors: 20 * Scale);
    }

    /// <summary>What <c>turbogen</c> does with a single file before building: open it, check every config, key and shape, read every tensor.</summary>
    private void LoadSingleFile(string path)
    {
        using var components = SingleFileCheckpoint.Open(path, files.Tokenizer, files.Tokenizer2, SingleFileTestCheckpoints.SdxlConfigs(), files.CacheRoot);
        OnnxModelBuilder.Validate(components);
        ReadEveryTensor(components);
    }

    private static void ReadEveryTensor(CheckpointComponents c)
    {
        foreach (var weights in new[] { c.TextEncoder, c.TextEncoder2, c.Unet, c.Vae })
        {
            if (weights is null) continue;
            foreach (string name in weights.Names.ToList())
            {
                var data = weights.Float32(name);
                Assert.Equal(data.ByteLength, data.ToArray().LongLength);   // every byte the builder would write
            }
        }
    }

    /// <summary>Counts outcomes and checks the property for one damaged file.</summary>
    private sealed class Outcomes
    {
        private int _loaded, _errors;

        public void Check(string path, string what, Action load, string? acceptFolder = null)
        {
            try
            {
                load();
                Interlocked.Increment(ref _loaded);   // damage the loader cannot see (e.g. a flipped weight bit) is not an error
            }
            catch (TurboGenException e)
            {
                Interlocked.Increment(ref _errors);
                string name = Path.GetFileName(path);
                bool named = e.Message.Contains(name, StringComparison.Ordinal) || (acceptFolder is not null && e.Message.Contains(acceptFolder, StringComparison.Ordinal));
                Assert.True(named, $"{what}: the error does not name {path}: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{what} ({path}): {e.GetType().Name} instead of a TurboGenException: {e}");
            }
        }

        public void Report(ITestOutputHelper output, string what, int minimumErrors)
        {
            output.WriteLine($"{what}: {_loaded + _errors} damaged files, {_errors} refused with an error naming the file, {_loaded} loaded (damage invisible to the loader)");
            Assert.True(_errors >= minimumErrors, $"{what}: only {_errors} of {_loaded + _errors} damaged files were refused; the generators should damage more");
        }
    }
}

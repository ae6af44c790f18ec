using System.Text.Json.Nodes;
using TurboGen.Benchmarking;
using TurboGen.Building;
using TurboGen.Core.Tests.Checkpoints;
using TurboGen.Core.Tests.Pipelines;
using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Building;

/// <summary><see cref="OnnxModelBuilder"/> / <see cref="ModelConverter"/> with <see cref="BuildPrecision.Float16"/>: sizes, the VAE's force_upcast rule.</summary>
public sealed class Float16ModelBuildTests(GoldenDiffusersTemplate template, ITestOutputHelper output) : IClassFixture<GoldenDiffusersTemplate>, IDisposable
{
    private readonly string _scratch = TestPaths.NewTempDir("turbogen-fp16-build");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>The bytes of all initializers of a component, as the build info records them (the data file adds 4 KiB alignment).</summary>
    private static long WeightBytes(string dir, string component) => (long)BuildInfo(dir)["components"]![component]!["weight_bytes"]!;

    private static JsonNode BuildInfo(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, OnnxModelBuilder.BuildInfoFile)))!;

    [Fact]
    public void Float16Build_OfFloat32Weights_HalvesTheNetworks_AndKeepsTheForceUpcastVaeFloat32()
    {
        string fp32 = Path.Combine(_scratch, "fp32"), fp16 = Path.Combine(_scratch, "fp16");
        ModelConverter.Convert(template.Dir, fp32, new ModelResolveOptions { CacheRoot = _scratch });
        ModelConverter.Convert(template.Dir, fp16, new ModelResolveOptions { CacheRoot = _scratch, Precision = BuildPrecision.Float16 });

        Assert.Equal("fp32", (string?)BuildInfo(fp32)["precision"]);
        Assert.Equal("fp16", (string?)BuildInfo(fp16)["precision"]);
        foreach (string component in new[] { "text_encoder", "text_encoder_2", "unet" })
        {
            double ratio = (double)WeightBytes(fp16, component) / WeightBytes(fp32, component);
            output.WriteLine($"{component}: {WeightBytes(fp32, component)} → {WeightBytes(fp16, component)} bytes ({ratio:P2})");
            Assert.InRange(ratio, 0.5, 0.52);   // float32 only for the small GroupNorm affine and constants
        }
        foreach (string component in new[] { "vae_decoder", "vae_encoder" })
        {
            Assert.Equal(WeightBytes(fp32, component), WeightBytes(fp16, component));
            Assert.Equal("fp32", (string?)BuildInfo(fp16)["components"]![component]!["precision"]);
        }
    }

    [Fact]
    public void AVaeWithForceUpcastFalse_IsBuiltInFloat16()
    {
        // sdxl-vae-fp16-fix says force_upcast: false: it runs in float16 without overflowing.
        string source = Path.Combine(_scratch, "fp16-fix");
        CopyDirectory(template.Dir, source);
        string vaeConfig = Path.Combine(source, "vae", "config.json");
        var config = JsonNode.Parse(File.ReadAllText(vaeConfig))!.AsObject();
        config["force_upcast"] = false;
        File.WriteAllText(vaeConfig, config.ToJsonString());

        string built = Path.Combine(_scratch, "built");
        using (var components = ModelResolver.OpenCheckpoint(source, new ModelResolveOptions { CacheRoot = _scratch }))
        {
            OnnxModelBuilder.Build(components, built, precision: BuildPrecision.Float16);
        }
        foreach (string component in new[] { "vae_decoder", "vae_encoder" })
        {
            Assert.Equal("fp16", (string?)BuildInfo(built)["components"]![component]!["precision"]);
            Assert.Equal(ElementType.Float16, Float16PipelineTests.DominantWeightType(Path.Combine(built, component, "model.onnx")));
        }
        // The built model loads and decodes to finite values on the CPU provider.
        using var model = TurboModel.Load(built, new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1 } });
        var decoded = model.VaeDecoder.Decode(new FloatTensor(Enumerable.Range(0, 4 * 8 * 8).Select(i => MathF.Sin(i)).ToArray(), [1, 4, 8, 8]), default).Value;
        Assert.All(decoded.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(BuildPrecision.Float16, ModelFamily.Sdxl, """{"force_upcast": true}""", BuildPrecision.Float32)]
    [InlineData(BuildPrecision.Float16, ModelFamily.Sdxl, """{"force_upcast": false}""", BuildPrecision.Float16)]
    [InlineData(BuildPrecision.Float16, ModelFamily.Sdxl, """{}""", BuildPrecision.Float32)]   // diffusers' default is true
    [InlineData(BuildPrecision.Float32, ModelFamily.Sdxl, """{"force_upcast": false}""", BuildPrecision.Float32)]
    [InlineData(BuildPrecision.Float16, ModelFamily.Sd, """{"force_upcast": true}""", BuildPrecision.Float16)]   // SD pipelines never upcast
    [InlineData(BuildPrecision.Float32, ModelFamily.Sd, """{}""", BuildPrecision.Float32)]
    public void VaePrecision_SdxlFollowsForceUpcast(BuildPrecision requested, ModelFamily family, string config, BuildPrecision expected) =>
        Assert.Equal(expected, OnnxModelBuilder.VaePrecision(requested, family, config));

    [SlowFact]
    [Trait("Category", "Slow")]
    public void FullSizeSdTurbo_Float16BuildIsHalfTheSize()
    {
        // A seeded random SD-Turbo single file with the real keys and shapes (F16, 2.6 GB), built both ways.
        string file = Path.Combine(_scratch, "sd_turbo.safetensors");
        RandomCheckpoint.WriteSingleFile(file, ModelFamily.Sd, seed: 3);
        string tokenizer = Path.Combine(_scratch, "tokenizer");
        TurboGen.Text.ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, tokenizer, "!");
        var sizes = new Dictionary<BuildPrecision, Dictionary<string, long>>();
        foreach (var precision in new[] { BuildPrecision.Float32, BuildPrecision.Float16 })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            string dir = ModelResolver.Resolve(file, new ModelResolveOptions
            {
                CacheRoot = _scratch,
                Precision = precision,
                TokenizerSource = (_, _) => (tokenizer, null),
            });
            sizes[precision] = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .GroupBy(f => Path.GetRelativePath(dir, f).Split(Path.DirectorySeparatorChar)[0])
                .ToDictionary(g => g.Key, g => g.Sum(f => new FileInfo(f).Length));
            output.WriteLine($"{precision.ShortName()}: built in {clock.Elapsed.TotalSeconds:F0} s, {sizes[precision].Values.Sum() / 1e9:F3} GB: " +
                string.Join(", ", sizes[precision].Where(kv => kv.Value > 1_000_000).Select(kv => $"{kv.Key} {kv.Value / 1e6:F1} MB")));
            Directory.Delete(dir, recursive: true);
        }
        // SD 2.x pipelines run the VAE in float16 too (only SDXL's force_upcast keeps it float32).
        foreach (string component in new[] { "text_encoder", "unet", "vae_decoder", "vae_encoder" })
        {
            Assert.InRange((double)sizes[BuildPrecision.Float16][component] / sizes[BuildPrecision.Float32][component], 0.49, 0.51);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Core.Tests.Checkpoints;
using TurboGen.Pipelines;
using TurboGen.Runtime;
using TurboGen.Tensors;
using TurboGen.Testing;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Building;

public sealed class OnnxModelBuilderTests(GoldenDiffusersTemplate template, ITestOutputHelper output) : IClassFixture<GoldenDiffusersTemplate>, IDisposable
{
    private readonly string _scratch = TestPaths.NewTempDir("turbogen-builder");

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void CancellingMidBuild_LeavesNoFolder_AndNoTemporaryFiles()
    {
        using var components = DiffusersCheckpoint.Open(template.Dir, _scratch);
        string target = Path.Combine(_scratch, "out", "model");
        using var cts = new CancellationTokenSource();
        var progress = new RecordingProgress { OnReport = line => { if (line.StartsWith("unet:", StringComparison.Ordinal)) cts.Cancel(); } };

        Assert.ThrowsAny<OperationCanceledException>(() => OnnxModelBuilder.Build(components, target, progress, cts.Token));

        Assert.Contains(progress.Lines, l => l.StartsWith("text_encoder_2: writing", StringComparison.Ordinal));
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_scratch, "out")));
    }

    [Fact]
    public void AnExistingNonEmptyOutput_IsRefused()
    {
        using var components = DiffusersCheckpoint.Open(template.Dir, _scratch);
        string target = Path.Combine(_scratch, "taken");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "x"), "");
        Assert.Throws<InvalidRequestException>(() => OnnxModelBuilder.Build(components, target));
    }

    /// <summary>
    /// The CLI downloads the .fp16 variant: F16 copies of the golden weights build, load and reproduce the golden pipeline
    /// within fp16 weight-rounding tolerance.
    /// </summary>
    [Fact]
    public void Fp16Variant_BuildsAndMatchesTheGoldenPipeline_WithinFp16Tolerance()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string dir = GoldenDiffusersFolder.Write(Path.Combine(_scratch, "fp16"), fp16: true);
        output.WriteLine($"fp16 folder written in {clock.Elapsed.TotalSeconds:F2} s");
        clock.Restart();
        Assert.Equal([Path.Combine(dir, "unet", "diffusion_pytorch_model.fp16.safetensors")], DiffusersCheckpoint.WeightFiles(Path.Combine(dir, "unet")));
        string onnx = ModelResolver.Resolve(dir, new ModelResolveOptions { CacheRoot = _scratch });
        using var model = TurboModel.Load(onnx, new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1 } });
        output.WriteLine($"built and loaded in {clock.Elapsed.TotalSeconds:F2} s");
        var pipeline = new TurboPipeline(model);
        using var inputs = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, "inputs_steps4.safetensors"));
        using var golden = new GoldenTensors(Path.Combine(GoldenDiffusersFolder.PipelineCase, "outputs_steps4.safetensors"));
        const int plane = 4 * 16 * 16;
        var prompts = GoldenDiffusersFolder.Prompts();
        for (int b = 0; b < prompts.Count; b++)
        {
            var result = pipeline.Generate(new GenerationRequest
            {
                Prompt = prompts[b],
                Width = 128,
                Height = 128,
                Steps = 4,
                InitialNoise = new FloatTensor(inputs.Float("initial_noise").AsSpan(b * plane, plane).ToArray(), [1, 4, 16, 16]),
                StepNoise = Enumerable.Range(0, 4).Select(i => new FloatTensor(inputs.Float($"step{i}.ancestral_noise").AsSpan(b * plane, plane).ToArray(), [1, 4, 16, 16])).ToList(),
            });
            double latentError = GoldenTensors.RelativeError(result.Latents.Data, golden.Float("latents_4").AsSpan(b * plane, plane));
            var decoded = model.VaeDecoder.Decode(new FloatTensor(result.Latents.Data.Select(v => v / model.ScalingFactor).ToArray(), result.Latents.Shape), default).Value;
            double imageError = GoldenTensors.RelativeError(decoded.Data, golden.Float("image_decoded").AsSpan(b * 3 * 128 * 128, 3 * 128 * 128));
            output.WriteLine($"prompt {b}: latents_4 relative error {latentError:E2}, image_decoded {imageError:E2}");
            // fp16 weights carry a relative rounding error of 2^-11 ≈ 5e-4 (measured end to end: 4e-4 latents, 7e-4 image).
            // The lower bound proves the fp16 weights were really used.
            Assert.InRange(latentError, 1e-5, 5e-3);
            Assert.InRange(imageError, 1e-5, 5e-3);
        }
    }
}

using System.Diagnostics;
using TurboGen.Building;
using TurboGen.Checkpoints;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Graphs.Architectures.Vae;
using TurboGen.Graphs.Architectures;
using TurboGen.Runtime;
using TurboGen.Testing;
using TurboGen.Text;
using Xunit.Abstractions;

namespace TurboGen.Core.Tests.Building;

/// <summary>Tests that measure process memory run alone (no other test allocates meanwhile).</summary>
[CollectionDefinition("memory-measurement", DisableParallelization = true)]
public sealed class MemoryMeasurementCollection;

/// <summary>
/// Peak memory of building a mid-size random-weight SD model (~220 MB of fp32 weights, F32 safetensors) and then loading
/// the built folder with <see cref="TurboModel.Load"/>. Linux only (reads and resets the peak resident set in /proc).
/// </summary>
[Collection("memory-measurement")]
public sealed class BuilderMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly string _dir = TestPaths.NewTempDir("turbogen-memory");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string UnetConfigJson = """
        {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": [4, 8, 8], "block_out_channels": [128, 256, 384],
         "cross_attention_dim": 256, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
         "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "mid_block_type": "UNetMidBlock2DCrossAttn",
         "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "norm_eps": 1e-05, "use_linear_projection": true,
         "flip_sin_to_cos": true, "freq_shift": 0, "sample_size": 32, "transformer_layers_per_block": 1}
        """;

    private const string ClipConfigJson = """
        {"architectures": ["CLIPTextModel"], "hidden_size": 256, "intermediate_size": 1024, "num_attention_heads": 4,
         "num_hidden_layers": 6, "hidden_act": "gelu", "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "vocab_size": 49408, "eos_token_id": 2}
        """;

    private const string VaeConfigJson = """
        {"_class_name": "AutoencoderKL", "block_out_channels": [64, 128, 256, 256], "layers_per_block": 2, "latent_channels": 4,
         "norm_num_groups": 32, "in_channels": 3, "out_channels": 3, "scaling_factor": 0.18215, "force_upcast": true}
        """;

    [Fact]
    public void BuildingThenLoading_PeakMemory_StaysWithinOneAndAQuarterTimesTheFp32Weights()
    {
        if (!OperatingSystem.IsLinux() || !CanResetPeak())
        {
            output.WriteLine("Skipped: needs Linux /proc/self/clear_refs to reset the peak resident set.");
            return;
        }
        string source = WriteRandomDiffusersFolder(Path.Combine(_dir, "source"));
        string built = Path.Combine(_dir, "built");
        long weightBytes;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        ResetPeak();
        long baseline = Status("VmRSS");
        long managedBaseline = GC.GetTotalMemory(forceFullCollection: false);
        using var sampler = new AnonymousMemorySampler();
        var clock = Stopwatch.StartNew();
        using (var components = DiffusersCheckpoint.Open(source, _dir))
        {
            weightBytes = new[] { components.Unet, components.TextEncoder, components.Vae }
                .Sum(w => w.Names.Sum(n => w.Shape(n).Aggregate(4L, (a, b) => a * b)));
            OnnxModelBuilder.Build(components, built);
        }
        double buildSeconds = clock.Elapsed.TotalSeconds;
        long buildPeak = Status("VmHWM") - baseline;
        long buildAnonPeak = sampler.PeakAnon - sampler.FirstAnon;
        clock.Restart();
        using (var model = TurboModel.Load(built, new ModelLoadOptions { Runtime = new RuntimeOptions { Threads = 1 } }))
        {
            Assert.Equal(ModelFamily.Sd, model.Family);
        }
        double loadSeconds = clock.Elapsed.TotalSeconds;
        long peak = Status("VmHWM") - baseline;
        sampler.Stop();

        double ratio = (double)peak / weightBytes;
        output.WriteLine($"fp32 weights {weightBytes / MiB} MiB; build {buildSeconds:F2} s, load {loadSeconds:F2} s");
        output.WriteLine($"peak resident set above baseline: build {buildPeak / MiB} MiB, build+load {peak / MiB} MiB = {ratio:F2} × weights " +
            $"(includes the checkpoint's memory-mapped pages); anonymous memory peak ≈ {buildAnonPeak / MiB} MiB (build), {(sampler.PeakAnon - sampler.FirstAnon) / MiB} MiB (build+load) above start; " +
            $"managed heap peak ≈ {(sampler.PeakManaged - managedBaseline) / MiB} MiB above start");
        Assert.True(weightBytes > 150 * MiB, $"the model is too small to measure ({weightBytes / MiB} MiB)");
        Assert.True(ratio <= 1.25, $"peak memory while building and loading was {ratio:F2} × the fp32 weight size (limit 1.25)");
    }

    private string WriteRandomDiffusersFolder(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), """{"_class_name": "StableDiffusionPipeline"}""");
        Directory.CreateDirectory(Path.Combine(dir, "scheduler"));
        File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), TinyModels.SchedulerJson("EulerDiscreteScheduler"));
        ClipVocabularyFiles.WriteHfFolder(TestPaths.ClipBpeVocabGz, Path.Combine(dir, "tokenizer"), "!");

        var unet = UnetConfig.FromJson(UnetConfigJson);
        Write(dir, "unet", "diffusion_pytorch_model", UnetConfigJson, UnetCheckpointLayout.Tensors(unet).ToDictionary(t => t.Name, t => t.Shape), 1);
        var clip = ClipTextConfig.FromJson(ClipConfigJson);
        Write(dir, "text_encoder", "model", ClipConfigJson, ClipTextModel.ExpectedTensors(clip, withProjection: false).ToDictionary(t => t.Name, t => t.Shape), 2);
        var vae = AutoencoderKlConfig.FromJson(VaeConfigJson);
        var vaeTensors = AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Encoder).Concat(AutoencoderKl.ExpectedTensors(vae, AutoencoderPart.Decoder))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        Write(dir, "vae", "diffusion_pytorch_model", VaeConfigJson, vaeTensors, 3);
        return dir;
    }

    private static void Write(string dir, string component, string stem, string config, IReadOnlyDictionary<string, long[]> tensors, int seed)
    {
        Directory.CreateDirectory(Path.Combine(dir, component));
        File.WriteAllText(Path.Combine(dir, component, "config.json"), config);
        TestCheckpoints.WriteSeededRandom(Path.Combine(dir, component, stem + ".safetensors"), tensors, seed);
    }

    private static bool CanResetPeak()
    {
        try
        {
            ResetPeak();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writing 5 to clear_refs resets the peak resident set size (VmHWM) to the current one (Linux ≥ 4.0).</summary>
    private static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    /// <summary>A field of /proc/self/status in bytes (e.g. VmRSS, VmHWM, RssAnon).</summary>
    internal static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]) * 1024;
            }
        }
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }

    /// <summary>Samples the anonymous resident memory and the managed heap every few milliseconds (there is no kernel peak for RssAnon).</summary>
    private sealed class AnonymousMemorySampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public AnonymousMemorySampler()
        {
            FirstAnon = Status("RssAnon");
            PeakAnon = FirstAnon;
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    PeakAnon = Math.Max(PeakAnon, Status("RssAnon"));
                    PeakManaged = Math.Max(PeakManaged, GC.GetTotalMemory(forceFullCollection: false));
                    Thread.Sleep(2);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long FirstAnon { get; }
        public long PeakAnon { get; private set; }
        public long PeakManaged { get; private set; }

        public void Stop()
        {
            _stop = true;
            _thread.Join();
        }

        public void Dispose() => Stop();
    }
}

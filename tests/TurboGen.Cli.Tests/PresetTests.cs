using System.Text.Json;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Configs;
using TurboGen.Testing;
using TurboGen.Testing.FakeHub;
using TurboGen.Weights;

namespace TurboGen.Cli.Tests;

/// <summary>
/// Known model names (<c>-m lcm-dreamshaper</c>, <c>-m sdxl-lightning-4step</c>, …) resolved against the fake Hub: the repository and
/// file they stand for, the settings they carry (and that options given win), and <c>models --known</c> with download sizes.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PresetTests(CliFixture fixture)
{
    private const string LcmRepo = "SimianLuo/LCM_Dreamshaper_v7";
    private const string LightningRepo = "ByteDance/SDXL-Lightning";

    /// <summary>The tiny ONNX model under the LCM preset's repository id, and a Lightning-like repository of several root checkpoints.</summary>
    private void AddRepos()
    {
        fixture.Hub.AddRepo(FakeHubRepo.FromFolder(LcmRepo, fixture.ModelFolder, (path, length) => !path.StartsWith("taesd/", StringComparison.Ordinal) && FakeHubRepo.DefaultIsLfs(path, length)));
        fixture.Hub.AddRepo(LightningRepo,
            FakeHubFile.FromBytes("sdxl_lightning_2step.safetensors", new byte[1000], isLfs: true),
            FakeHubFile.FromBytes("sdxl_lightning_4step.safetensors", new byte[4000], isLfs: true),
            FakeHubFile.FromBytes("sdxl_lightning_4step_unet.safetensors", new byte[3000], isLfs: true),
            FakeHubFile.FromBytes("sdxl_lightning_4step_lora.safetensors", new byte[300], isLfs: true),
            FakeHubFile.FromBytes("sdxl_lightning_8step.safetensors", new byte[8000], isLfs: true),
            FakeHubFile.FromText("README.md", "# SDXL-Lightning"));
    }

    [Fact]
    public async Task Preset_MapsToItsRepository_AndFillsStepsAndGuidance_UnlessGiven()
    {
        AddRepos();
        string work = fixture.NewWorkDir(), home = fixture.NewHome();
        var run = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", "lcm-dreamshaper", "--size", "64x64", "--seed", "5", "-o", "p.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "p.png")))[PngText.TurboGenKey])!;
        Assert.Equal((4, 8f), (record.Steps, record.GuidanceScale));   // the preset's
        Assert.Equal(LcmRepo, record.Model);

        var given = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", "LCM-Dreamshaper-v7", "--steps", "2", "--guidance", "0", "--size", "64x64", "--seed", "5", "-o", "q.png", "--threads", "1");
        Assert.True(given.ExitCode == 0, given.ToString());
        var record2 = GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "q.png")))[PngText.TurboGenKey])!;
        Assert.Equal((2, 1f), (record2.Steps, record2.GuidanceScale));   // the command line's (guidance 0 is recorded as 1: no CFG)
    }

    [Fact]
    public async Task LightningPreset_DownloadsOnlyItsOwnCheckpoint()
    {
        AddRepos();
        string home = fixture.NewHome();
        fixture.Hub.ResetRequests();
        var pull = await fixture.RunAsync(home, "pull", "sdxl-lightning-4step");
        Assert.True(pull.ExitCode == 0, pull.ToString());
        Assert.Contains("ByteDance/SDXL-Lightning@main (single-file, sdxl_lightning_4step.safetensors): 1 files", pull.Stdout);
        string log = string.Join("\n", fixture.Hub.Requests.Select(r => $"{r.Method} {r.PathAndQuery}"));
        var resolved = fixture.Hub.Requests.Where(r => r.PathAndQuery.Contains("/resolve/", StringComparison.Ordinal)).Select(r => r.PathAndQuery).ToList();
        Assert.True(resolved.Count == 1 && resolved[0].EndsWith("/sdxl_lightning_4step.safetensors", StringComparison.Ordinal), log);
        Assert.True(fixture.Hub.Requests.Count(r => r.Method == "GET" && r.IsCdn) == 1, log);   // one file's bytes
    }

    [Fact]
    public async Task ModelsKnown_ListsEveryPreset_WithDownloadSizesFromTheHub()
    {
        AddRepos();
        string home = fixture.NewHome();
        var run = await fixture.RunAsync(home, "models", "--known", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var doc = JsonDocument.Parse(run.Stdout);
        var models = doc.RootElement.GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(TurboGen.Hub.KnownModels.All.Select(m => m.Name), models.Keys);

        var lightning = models["sdxl-lightning-4step"];
        Assert.Equal(LightningRepo, lightning.GetProperty("repo").GetString());
        Assert.Equal(4000, lightning.GetProperty("size_bytes").GetInt64());
        Assert.Equal(4000, lightning.GetProperty("missing_bytes").GetInt64());
        Assert.Equal(("euler", 1024, 4), (lightning.GetProperty("scheduler").GetString(), lightning.GetProperty("size").GetInt32(), lightning.GetProperty("steps").GetInt32()));
        Assert.Equal(8000, models["sdxl-lightning-8step"].GetProperty("size_bytes").GetInt64());
        var dmd2 = models["dmd2-sdxl-4step"];
        Assert.Equal(("lcm", 4, 4), (dmd2.GetProperty("scheduler").GetString(), dmd2.GetProperty("original_inference_steps").GetInt32(), dmd2.GetProperty("steps").GetInt32()));
        Assert.Equal("tianweiy/DMD2/dmd2_sdxl_4step_lora_fp16.safetensors", dmd2.GetProperty("lora").GetString());
        var hyper1 = models["hyper-sdxl-1step"];
        Assert.Equal(("tcd", 1.0, 1), (hyper1.GetProperty("scheduler").GetString(), hyper1.GetProperty("gamma").GetDouble(), hyper1.GetProperty("steps").GetInt32()));
        Assert.False(lightning.TryGetProperty("gamma", out _));

        // The LCM repository is the tiny ONNX model: its ONNX variant, every file counted once.
        long onnxBytes = Directory.EnumerateFiles(fixture.ModelFolder, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(fixture.ModelFolder, f).StartsWith("taesd", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length);
        var lcm = models["lcm-dreamshaper"];
        Assert.StartsWith("onnx", lcm.GetProperty("variant").GetString());
        Assert.InRange(lcm.GetProperty("size_bytes").GetInt64(), 1, onnxBytes);

        // A repository the Hub does not have: no size, and why.
        var sdxs = models["sdxs"];
        Assert.False(sdxs.TryGetProperty("size_bytes", out _));
        Assert.Contains("IDKiro/sdxs-512-0.9", sdxs.GetProperty("note").GetString());

        // After a pull the preset's download is in the cache.
        var pull = await fixture.RunAsync(home, "pull", "sdxl-lightning-4step");
        Assert.True(pull.ExitCode == 0, pull.ToString());
        var again = await fixture.RunAsync(home, "models", "--known");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Matches(@"sdxl-lightning-4step.*\(cached\)", again.Stdout.Replace("\n", " ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LoraPreset_DownloadsItsLora_MergesIt_AndRunsWithItsSchedulerStepsAndGuidance()
    {
        // lcm-lora-sd15 = the SD 1.5 base (here the tiny SD 1.x diffusers folder under that id, with an Euler config) + LCM-LoRA + "lcm".
        string work = fixture.NewWorkDir(), home = fixture.NewHome();
        var preset = TurboGen.Hub.KnownModels.Find("lcm-lora-sd15")!;
        Assert.Equal(("lcm", 4, 1f, 512), (preset.Scheduler, preset.Steps, preset.Guidance, preset.Size));
        string baseFolder = GoldenDiffusersFolder.WriteSd(Path.Combine(work, "sd15-tiny"), SingleFileTestCheckpoints.Sd1UnetCase, KnownConfigs.Sd15.SchedulerConfigJson);
        string loraFile = Path.Combine(work, "lcm-lora.safetensors");
        WriteTinyLora(loraFile);
        fixture.Hub.AddRepo(FakeHubRepo.FromFolder(preset.RepoId, baseFolder));
        fixture.Hub.AddRepo(preset.Lora!.RepoId, FakeHubFile.FromDisk(preset.Lora.File, loraFile, isLfs: true), FakeHubFile.FromText("README.md", "# LoRA"));
        fixture.Hub.ResetRequests();

        var run = await fixture.RunInAsync(home, work, "generate", "a cat", "-m", "lcm-lora-sd15", "--size", "64x64", "--seed", "5", "-o", "p.png", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains(fixture.Hub.Requests, r => r.PathAndQuery.Contains(preset.Lora.RepoId, StringComparison.Ordinal)
            && r.PathAndQuery.Contains("/resolve/", StringComparison.Ordinal) && r.PathAndQuery.EndsWith("/" + preset.Lora.File, StringComparison.Ordinal));
        byte[] png = File.ReadAllBytes(Path.Combine(work, "p.png"));
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(png)[PngText.TurboGenKey])!;
        Assert.Equal((4, 1f), (record.Steps, record.GuidanceScale));
        Assert.Contains("Sampler: LCM", PngText.ReadTextChunks(png)[PngText.ParametersKey]);

        // The same as the base folder with that LoRA and scheduler given by hand; without the LoRA the picture differs.
        string[] common = ["generate", "a cat", "-m", baseFolder, "--scheduler", "lcm", "--steps", "4", "--guidance", "1", "--size", "64x64", "--seed", "5", "--threads", "1"];
        var byHand = await fixture.RunInAsync(home, work, [.. common, "--lora", loraFile, "-o", "hand.png"]);
        Assert.True(byHand.ExitCode == 0, byHand.ToString());
        var plain = await fixture.RunInAsync(home, work, [.. common, "-o", "plain.png"]);
        Assert.True(plain.ExitCode == 0, plain.ToString());
        var pixels = ImageCodec.Decode(png).Pixels;
        Assert.Equal(ImageCodec.Load(Path.Combine(work, "hand.png")).Pixels, pixels);
        Assert.NotEqual(ImageCodec.Load(Path.Combine(work, "plain.png")).Pixels, pixels);
    }

    [Fact]
    public void EveryPreset_NamesAKnownScheduler_AndLoraPresetsCarryOne()
    {
        foreach (var m in TurboGen.Hub.KnownModels.All)
        {
            if (m.Scheduler is not null) TurboGen.Scheduling.Schedulers.CanonicalOverrideName(m.Scheduler);   // throws for an unknown name
            if (m.Lora is not null) Assert.True(m.Scheduler is not null && m.Steps is not null && m.Guidance is not null && m.Size is not null, m.Name);
        }
        var tcd = TurboGen.Hub.KnownModels.Find("tcd-sdxl")!;
        Assert.Equal(("stabilityai/stable-diffusion-xl-base-1.0", "h1t/TCD-SDXL-LoRA", "tcd", 4, 0f, 1024),
            (tcd.RepoId, tcd.Lora!.RepoId, tcd.Scheduler, tcd.Steps, tcd.Guidance, tcd.Size));
        var hyper = TurboGen.Hub.KnownModels.Find("hyper-sd15-4step")!;
        Assert.Equal(("ByteDance/Hyper-SD", "Hyper-SD15-4steps-lora.safetensors", "euler", 4, 0f), (hyper.Lora!.RepoId, hyper.Lora.File, hyper.Scheduler, hyper.Steps, hyper.Guidance));
        Assert.Equal(8f, TurboGen.Hub.KnownModels.Find("lcm-dreamshaper")!.Guidance);
        // Scheduler parameters only with the scheduler they go on top of (ApplyTo throws when the class does not take them).
        foreach (var m in TurboGen.Hub.KnownModels.All.Where(m => m.SchedulerParameters is not null))
        {
            Assert.True(m.Scheduler is not null, m.Name);
            TurboGen.Scheduling.Schedulers.ApplyOverride(SdxlBaseSchedulerConfig, m.Scheduler, parameters: m.SchedulerParameters);
        }
    }

    /// <summary>stabilityai/stable-diffusion-xl-base-1.0's scheduler_config.json (the keys that matter): the base of the SDXL LoRA presets.</summary>
    private const string SdxlBaseSchedulerConfig = """
        {"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
         "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading"}
        """;

    [Fact]
    public void Dmd2Preset_IsTheSdxlBaseWithItsLora_AndLcmAtTheCardsTimesteps999_749_499_249()
    {
        var dmd2 = TurboGen.Hub.KnownModels.Find("dmd2")!;
        Assert.Same(dmd2, TurboGen.Hub.KnownModels.Find("dmd2-sdxl-4step"));
        Assert.Equal(("stabilityai/stable-diffusion-xl-base-1.0", "tianweiy/DMD2", "dmd2_sdxl_4step_lora_fp16.safetensors", 1f),
            (dmd2.RepoId, dmd2.Lora!.RepoId, dmd2.Lora.File, dmd2.Lora.Scale));
        Assert.Equal(("lcm", 4, 0f, 1024), (dmd2.Scheduler, dmd2.Steps, dmd2.Guidance, dmd2.Size));
        var config = TurboGen.Scheduling.Schedulers.ApplyOverride(SdxlBaseSchedulerConfig, dmd2.Scheduler!, parameters: dmd2.SchedulerParameters);
        var lcm = Assert.IsType<TurboGen.Scheduling.LcmScheduler>(TurboGen.Scheduling.Schedulers.Create(config));
        // The model card's timesteps (tianweiy/DMD2 README), not our output: diffusers' LCMScheduler default would be 999, 759, 499, 259.
        Assert.Equal(new float[] { 999, 749, 499, 249 }, lcm.SetTimesteps(dmd2.Steps!.Value).Timesteps);
    }

    [Fact]
    public void HyperSdxl1StepPreset_IsTcdWithGamma1_OneStep()
    {
        var hyper = TurboGen.Hub.KnownModels.Find("hyper-sdxl-1step")!;
        Assert.Equal(("stabilityai/stable-diffusion-xl-base-1.0", "ByteDance/Hyper-SD", "Hyper-SDXL-1step-lora.safetensors"), (hyper.RepoId, hyper.Lora!.RepoId, hyper.Lora.File));
        Assert.Equal(("tcd", 1, 0f, 1024), (hyper.Scheduler, hyper.Steps, hyper.Guidance, hyper.Size));
        var config = TurboGen.Scheduling.Schedulers.ApplyOverride(SdxlBaseSchedulerConfig, hyper.Scheduler!, parameters: hyper.SchedulerParameters);
        var tcd = Assert.IsType<TurboGen.Scheduling.TcdScheduler>(TurboGen.Scheduling.Schedulers.Create(config));
        Assert.Equal(1.0, tcd.Gamma);
        Assert.Equal(new float[] { 999 }, tcd.SetTimesteps(1).Timesteps);
        // The other TCD presets keep the TCD default (0.3).
        var tcdSdxl = TurboGen.Hub.KnownModels.Find("tcd-sdxl")!;
        Assert.Null(tcdSdxl.SchedulerParameters);
    }

    [Fact]
    public async Task Dmd2Preset_RunsLcmWithItsOriginOf4Steps_AndAGivenSchedulerDropsIt()
    {
        // dmd2 = the SDXL base id (here the tiny SD 1.x folder under it: the id is all the preset names) + its LoRA + "lcm" with
        // original_inference_steps 4. The origin of 4 timesteps admits at most 4 steps (diffusers: skipping_step < 1 above that).
        string work = fixture.NewWorkDir(), home = fixture.NewHome();
        var preset = TurboGen.Hub.KnownModels.Find("dmd2")!;
        string baseFolder = GoldenDiffusersFolder.WriteSd(Path.Combine(work, "base-tiny"), SingleFileTestCheckpoints.Sd1UnetCase, KnownConfigs.Sd15.SchedulerConfigJson);
        string loraFile = Path.Combine(work, "dmd2-lora.safetensors");
        WriteTinyLora(loraFile);
        fixture.Hub.AddRepo(FakeHubRepo.FromFolder(preset.RepoId, baseFolder));
        fixture.Hub.AddRepo(preset.Lora!.RepoId, FakeHubFile.FromDisk(preset.Lora.File, loraFile, isLfs: true), FakeHubFile.FromText("README.md", "# LoRA"));
        string[] common = ["generate", "a cat", "-m", "dmd2", "--size", "64x64", "--seed", "5", "--threads", "1"];

        var run = await fixture.RunInAsync(home, work, [.. common, "-o", "p.png"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        var record = GenerationMetadata.ParseJson(PngText.ReadTextChunks(File.ReadAllBytes(Path.Combine(work, "p.png")))[PngText.TurboGenKey])!;
        Assert.Equal(4, record.Steps);

        var five = await fixture.RunInAsync(home, work, [.. common, "--steps", "5", "-o", "q.png"]);
        Assert.True(five.ExitCode == 2, five.ToString());
        Assert.Contains("steps must be in 1..4", five.Stderr);

        // --scheduler given: the preset's parameters go with its scheduler, LCM's default origin of 50 admits 5 steps.
        var given = await fixture.RunInAsync(home, work, [.. common, "--steps", "5", "--scheduler", "lcm", "-o", "r.png"]);
        Assert.True(given.ExitCode == 0, given.ToString());
    }

    /// <summary>A PEFT-named LoRA (rank 2) on one attention projection of the tiny SD 1.x UNet (unet_sd15_tiny: 16 channels in block 0).</summary>
    private static void WriteTinyLora(string path)
    {
        const string module = "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q";
        float[] down = Enumerable.Range(0, 2 * 16).Select(i => MathF.Sin(i) * 0.5f).ToArray();
        float[] up = Enumerable.Range(0, 16 * 2).Select(i => MathF.Cos(i) * 0.5f).ToArray();
        SafetensorsWriter.Write(path,
        [
            SafetensorsWriter.Tensor.FromArray(module + ".lora_A.weight", SafetensorsDType.F32, [2, 16], down),
            SafetensorsWriter.Tensor.FromArray(module + ".lora_B.weight", SafetensorsDType.F32, [16, 2], up),
        ]);
    }

    [Fact]
    public async Task ModelsKnown_Offline_SaysSo()
    {
        var run = await CliProcess.RunAsync(fixture.Environment(fixture.NewHome(), ("HF_HUB_OFFLINE", "1")), fixture.NewWorkDir(), "models", "--known", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        using var doc = JsonDocument.Parse(run.Stdout);
        Assert.All(doc.RootElement.GetProperty("models").EnumerateArray(), m => Assert.Equal("offline", m.GetProperty("note").GetString()));
    }

    [Fact]
    public async Task UnknownName_IsAModelError_ListingTheKnownNames()
    {
        var run = await fixture.RunAsync(fixture.NewHome(), "generate", "a cat", "-m", "sdxl-lightnin-4step", "--size", "64x64");
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("sdxl-lightning-4step", run.Stderr);
        Assert.Contains("models --known", run.Stderr);
    }
}

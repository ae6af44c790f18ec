using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

/// <summary>
/// The variant rule (<see cref="HubVariants"/>) on file lists with sizes as the Hub API lists them. Weight file sizes marked "shapes" are
/// the byte counts of safetensors files holding the real tensors (names and shapes of the published SDXL-Turbo / SD-Turbo networks, F16,
/// JSON header as the safetensors library writes it); the others are the sizes the Hub page shows, filled to bytes.
/// </summary>
public sealed class HubVariantsTests
{
    private const long Tokenizers = 524_619 + 460 + 737 + 1_059_962;

    private static readonly (string Path, long Size)[] TokenizerFiles =
    [
        ("tokenizer/merges.txt", 524_619), ("tokenizer/special_tokens_map.json", 460), ("tokenizer/tokenizer_config.json", 737), ("tokenizer/vocab.json", 1_059_962),
    ];

    private static readonly (string Path, long Size)[] Tokenizer2Files = [.. TokenizerFiles.Select(f => ("tokenizer_2/" + f.Path["tokenizer/".Length..], f.Size))];

    /// <summary>stabilityai/sdxl-turbo main: diffusers fp32 + fp16, the Optimum fp32 ONNX export, the root checkpoints.</summary>
    private static readonly (string Path, long Size)[] SdxlTurbo =
    [
        (".gitattributes", 1_519), ("LICENSE.md", 7_031), ("README.md", 4_270), ("image_quality_one_step.png", 131_000), ("model_index.json", 685),
        ("sd_xl_turbo_1.0.safetensors", 13_875_000_000), ("sd_xl_turbo_1.0_fp16.safetensors", 6_938_041_176), // fp16: shapes
        ("scheduler/scheduler_config.json", 440),
        ("text_encoder/config.json", 565), ("text_encoder/model.fp16.safetensors", 246_144_152), ("text_encoder/model.onnx", 492_587_457),
        ("text_encoder/model.safetensors", 492_265_168),
        ("text_encoder_2/config.json", 575), ("text_encoder_2/model.fp16.safetensors", 1_389_382_176), ("text_encoder_2/model.onnx", 1_017_000),
        ("text_encoder_2/model.onnx_data", 2_778_639_360), ("text_encoder_2/model.safetensors", 2_778_702_264),
        .. TokenizerFiles, .. Tokenizer2Files,
        ("unet/config.json", 1_680), ("unet/diffusion_pytorch_model.fp16.safetensors", 5_135_149_760), ("unet/diffusion_pytorch_model.safetensors", 10_270_077_736),
        ("unet/model.onnx", 7_300_000), ("unet/model.onnx_data", 10_269_854_736),
        ("vae/config.json", 607), ("vae/diffusion_pytorch_model.fp16.safetensors", 167_335_342), ("vae/diffusion_pytorch_model.safetensors", 334_643_268),
        ("vae_decoder/config.json", 607), ("vae_decoder/model.onnx", 198_000_000), ("vae_encoder/config.json", 607), ("vae_encoder/model.onnx", 137_000_000),
    ];

    /// <summary>stabilityai/sd-turbo main: diffusers fp32 + fp16 and the fp32 sd_turbo.safetensors, no ONNX.</summary>
    private static readonly (string Path, long Size)[] SdTurbo =
    [
        (".gitattributes", 1_519), ("README.md", 4_000), ("model_index.json", 600), ("sd_turbo.safetensors", 5_210_000_000),
        ("scheduler/scheduler_config.json", 440),
        ("text_encoder/config.json", 633), ("text_encoder/model.fp16.safetensors", 680_820_392), ("text_encoder/model.safetensors", 1_361_596_304),
        .. TokenizerFiles,
        ("unet/config.json", 1_700), ("unet/diffusion_pytorch_model.fp16.safetensors", 1_731_904_736), ("unet/diffusion_pytorch_model.safetensors", 3_463_726_504),
        ("vae/config.json", 607), ("vae/diffusion_pytorch_model.fp16.safetensors", 167_335_342), ("vae/diffusion_pytorch_model.safetensors", 334_643_268),
    ];

    /// <summary>onnxruntime/sdxl-turbo (Olive, fp16, for CUDA): external data named model.onnx.data, no safetensors.</summary>
    private static readonly (string Path, long Size)[] OrtSdxlTurbo =
    [
        (".gitattributes", 1_600), ("README.md", 5_000), ("model_index.json", 700), ("scheduler/scheduler_config.json", 470),
        ("text_encoder/config.json", 565), ("text_encoder/model.onnx", 246_500_000),
        ("text_encoder_2/config.json", 575), ("text_encoder_2/model.onnx", 900_000), ("text_encoder_2/model.onnx.data", 1_389_300_000),
        .. TokenizerFiles, .. Tokenizer2Files,
        ("unet/config.json", 1_680), ("unet/model.onnx", 1_300_000), ("unet/model.onnx.data", 5_134_900_000),
        ("vae_decoder/config.json", 607), ("vae_decoder/model.onnx", 99_000_000), ("vae_encoder/config.json", 607), ("vae_encoder/model.onnx", 68_600_000),
    ];

    /// <summary>tlwu/sd-turbo-onnxruntime (Olive, fp16, for CUDA): one-file ONNX models, no configs in the model folders.</summary>
    private static readonly (string Path, long Size)[] TlwuSdTurbo =
    [
        ("README.md", 3_000), ("model_index.json", 600), ("scheduler/scheduler_config.json", 470), ("text_encoder/model.onnx", 681_000_000), .. TokenizerFiles,
        ("unet/model.onnx", 1_730_000_000), ("vae_decoder/model.onnx", 99_000_000), ("vae_encoder/model.onnx", 68_600_000),
    ];

    private static readonly HubVariantNeeds Cpu = new();
    private static readonly HubVariantNeeds Cuda = new() { CudaExports = true };
    private static readonly HubVariantNeeds Lora = new() { Weights = true };

    private static IReadOnlyList<HubRepoFile> Files(IEnumerable<(string Path, long Size)> files) =>
        files.Select((f, i) => new HubRepoFile(f.Path, f.Size, $"{i:x40}")).ToList();

    private static Func<HubRepoFile, bool> Local(params string[] prefixes) =>
        f => prefixes.Any(p => f.Path == p || f.Path.StartsWith(p, StringComparison.Ordinal));

    private static readonly Func<HubRepoFile, bool> NothingLocal = _ => false;

    private static HubVariant Choose(IEnumerable<(string Path, long Size)> repo, HubVariantNeeds needs, Func<HubRepoFile, bool>? local = null) =>
        HubVariants.Choose(HubVariants.Candidates(Files(repo)), needs, local ?? NothingLocal) ?? throw new InvalidOperationException("nothing chosen");

    [Fact]
    public void Sdxl_turbo_offers_three_variants_and_the_fp16_safetensors_are_the_smallest_download()
    {
        var candidates = HubVariants.Candidates(Files(SdxlTurbo));
        Assert.Equal([HubVariantKind.Onnx, HubVariantKind.Safetensors, HubVariantKind.SingleFile], candidates.Select(v => v.Kind));
        long configs = 685 + 440 + 565 + 575 + 1_680; // model_index, scheduler, text encoders, unet
        Assert.Equal(492_587_457 + 1_017_000 + 2_778_639_360 + 7_300_000 + 10_269_854_736 + 198_000_000 + 137_000_000 + 2 * Tokenizers + configs + 2 * 607,
            candidates[0].TotalSize); // ≈ 13.9 GB
        Assert.Equal(6_938_011_430 + 2 * Tokenizers + configs + 607, candidates[1].TotalSize); // ≈ 6.94 GB
        Assert.Equal(6_938_041_176 + 2 * Tokenizers, candidates[2].TotalSize);        // 30 kB more: longer tensor names in the header
        Assert.Equal(("fp16", "sd_xl_turbo_1.0_fp16.safetensors", "sd_xl_turbo_1.0_fp16.safetensors"), (candidates[1].Detail, candidates[2].Detail, candidates[2].CheckpointPath));
        Assert.False(candidates[0].MadeForCuda);

        var cpu = Choose(SdxlTurbo, Cpu);
        Assert.Equal(HubVariantKind.Safetensors, cpu.Kind);
        Assert.True(cpu.NeedsBuild);
        Assert.Equal(HubVariantKind.Safetensors, Choose(SdxlTurbo, Cuda).Kind);
        Assert.Equal(HubVariantKind.Safetensors, Choose(SdxlTurbo, Lora).Kind);
    }

    [Fact]
    public void A_variant_complete_in_the_cache_wins_over_a_smaller_download()
    {
        var onnx = Choose(SdxlTurbo, Cpu, Local("model_index.json", "scheduler/", "tokenizer", "text_encoder/model.onnx", "text_encoder_2/model.onnx",
            "unet/model.onnx", "vae_decoder/", "vae_encoder/", "text_encoder/config.json", "text_encoder_2/config.json", "unet/config.json"));
        Assert.Equal(HubVariantKind.Onnx, onnx.Kind); // an ONNX export pulled by an earlier version is used as it is
        Assert.Equal(0, HubVariants.MissingBytes(onnx, Local("")));

        Assert.Equal(HubVariantKind.SingleFile, Choose(SdxlTurbo, Cpu, Local("sd_xl_turbo_1.0_fp16.safetensors", "tokenizer")).Kind);

        // Everything cached: nothing to download either way, and the ONNX export needs no build.
        Assert.Equal(HubVariantKind.Onnx, Choose(SdxlTurbo, Cuda, Local("")).Kind);
    }

    [Fact]
    public void The_rank_is_the_bytes_still_to_download()
    {
        // An interrupted ONNX download with only the UNet weights done (3.6 GB left) beats starting the 6.94 GB safetensors.
        Assert.Equal(HubVariantKind.Onnx, Choose(SdxlTurbo, Cpu, Local("unet/model.onnx_data")).Kind);
        // With the text encoder weights done instead (11.1 GB left), the safetensors are still less to download.
        Assert.Equal(HubVariantKind.Safetensors, Choose(SdxlTurbo, Cpu, Local("text_encoder_2/model.onnx_data")).Kind);
    }

    [Fact]
    public void An_onnx_export_cannot_serve_when_the_weights_are_needed()
    {
        var everything = Local("");
        Assert.Equal(HubVariantKind.Safetensors, Choose(SdxlTurbo, Lora, everything).Kind);
        var onnxOnly = HubVariants.Candidates(Files(OrtSdxlTurbo));
        Assert.False(HubVariants.CanServe(onnxOnly[0], Lora));
        Assert.True(HubVariants.CanServe(onnxOnly[0], Cpu));
        Assert.Null(HubVariants.Choose(onnxOnly, Lora, everything));
    }

    [Fact]
    public void Sd_turbo_takes_the_fp16_safetensors_not_the_fp32_single_file()
    {
        var candidates = HubVariants.Candidates(Files(SdTurbo));
        Assert.Equal([HubVariantKind.Safetensors, HubVariantKind.SingleFile], candidates.Select(v => v.Kind));
        var chosen = Choose(SdTurbo, Cpu);
        Assert.Equal(HubVariantKind.Safetensors, chosen.Kind);
        Assert.Equal(2_580_060_470 + Tokenizers + 600 + 440 + 633 + 1_700 + 607, chosen.TotalSize); // ≈ 2.58 GB vs 5.21 GB
    }

    [Fact]
    public void Olive_exports_are_marked_made_for_cuda_and_come_last_unless_the_provider_runs_them()
    {
        var ort = Assert.Single(HubVariants.Candidates(Files(OrtSdxlTurbo)));
        Assert.True(ort.MadeForCuda); // model.onnx.data
        Assert.Equal("made for CUDA", ort.Detail);
        var tlwu = Assert.Single(HubVariants.Candidates(Files(TlwuSdTurbo)));
        Assert.True(tlwu.MadeForCuda); // no unet/config.json

        // Alone, it is still what the repository has (the provider decides whether it runs).
        Assert.Equal(HubVariantKind.Onnx, Choose(OrtSdxlTurbo, Cpu).Kind);

        // Next to fp32 safetensors weights: the CPU takes the (larger) weights, CUDA the (smaller) export.
        (string, long)[] both = [.. OrtSdxlTurbo, .. SdxlTurbo.Where(f => f.Path.EndsWith(".safetensors", StringComparison.Ordinal)
            && f.Path.Contains('/', StringComparison.Ordinal) && !f.Path.Contains("fp16", StringComparison.Ordinal)), ("vae/config.json", 607)];
        Assert.Equal(HubVariantKind.Safetensors, Choose(both, Cpu).Kind);
        Assert.Equal(HubVariantKind.Onnx, Choose(both, Cuda).Kind);
    }

    [Fact]
    public void A_list_read_from_disk_without_sizes_prefers_the_onnx_export()
    {
        // A cache filled by the Python tools, offline: no sizes, no blob ids; every listed file is on disk.
        var files = SdxlTurbo.Where(f => !f.Path.Contains("fp16", StringComparison.Ordinal)).Select(f => new HubRepoFile(f.Path)).ToList();
        var chosen = HubVariants.Choose(HubVariants.Candidates(files), Cpu, NothingLocal);
        Assert.Equal(HubVariantKind.Onnx, chosen!.Kind);
        Assert.Equal(0, chosen.TotalSize);
    }

    [Fact]
    public void A_repository_without_a_model_has_no_candidates()
    {
        Assert.Empty(HubVariants.Candidates(Files([("README.md", 100), ("config.json", 500), ("diffusion_pytorch_model.safetensors", 1_000_000)])));
        Assert.Null(HubVariants.Choose([], Cpu, NothingLocal));
    }

    [Fact]
    public void Files_sharing_a_blob_count_once()
    {
        var shared = new HubRepoFile("tokenizer/vocab.json", 1_000, "b0");
        var again = new HubRepoFile("tokenizer_2/vocab.json", 1_000, "b0");
        var variant = new HubVariant(HubVariantKind.Safetensors, [shared, again, new HubRepoFile("unet/x.safetensors", 10, "b1")], "");
        Assert.Equal(1_010, variant.TotalSize);
        Assert.Equal(10, HubVariants.MissingBytes(variant, f => f.Path.EndsWith("vocab.json", StringComparison.Ordinal)));
    }

    [Fact]
    public void NamedCheckpoint_IsTheOnlyCandidate_InARepositoryOfSeveral()
    {
        // ByteDance/SDXL-Lightning's layout: all-in-one checkpoints, UNet-only files and LoRAs side by side at the root.
        var files = new[]
        {
            new HubRepoFile("sdxl_lightning_2step.safetensors", 6_900, "a"),
            new HubRepoFile("sdxl_lightning_4step.safetensors", 6_900, "b"),
            new HubRepoFile("sdxl_lightning_4step_unet.safetensors", 5_100, "c"),
            new HubRepoFile("sdxl_lightning_4step_lora.safetensors", 390, "d"),
            new HubRepoFile("README.md", 10, "e"),
        };
        Assert.Empty(HubVariants.Candidates(files));   // no single root checkpoint: nothing to choose without a name
        var named = Assert.Single(HubVariants.Candidates(files, "sdxl_lightning_4step.safetensors"));
        Assert.Equal((HubVariantKind.SingleFile, "sdxl_lightning_4step.safetensors", 6_900L), (named.Kind, named.CheckpointPath, named.TotalSize));
        Assert.Equal(["sdxl_lightning_4step.safetensors"], named.Files.Select(f => f.Path));
        Assert.Empty(HubVariants.Candidates(files, "sdxl_lightning_1step.safetensors"));
        Assert.Same(KnownModels.Find("SDXL-Lightning-4step"), KnownModels.Find("sdxl-lightning-4step"));
        Assert.Equal("sdxl_lightning_4step.safetensors", KnownModels.Find("sdxl-lightning-4step")!.Needs(new HubVariantNeeds()).Checkpoint);
    }
}

using TurboGen.Hub;

namespace TurboGen.Hub.Tests;

/// <summary>The variant selector on file lists written from MODEL-CONTRACT §1 (stabilityai/sdxl-turbo, sd-turbo, onnxruntime/*, tlwu/*).</summary>
public sealed class HubFileSelectorTests
{
    private static readonly string[] Tokenizer = ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"];

    /// <summary>stabilityai/sdxl-turbo main: diffusers safetensors (fp32 + fp16), the Optimum ONNX export (PR #15), root checkpoints.</summary>
    private static readonly string[] SdxlTurbo =
    [
        ".gitattributes", "LICENSE.md", "README.md", "image_quality_one_step.png", "model_index.json", "output_tile.jpg",
        "prompt_alignment_one_step.png", "sd_xl_turbo_1.0.safetensors", "sd_xl_turbo_1.0_fp16.safetensors",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.onnx", "text_encoder/model.safetensors",
        "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors", "text_encoder_2/model.onnx", "text_encoder_2/model.onnx_data",
        "text_encoder_2/model.safetensors",
        .. Tokenizer.Select(f => "tokenizer/" + f), .. Tokenizer.Select(f => "tokenizer_2/" + f),
        "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
        "unet/model.onnx", "unet/model.onnx_data",
        "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
        "vae_decoder/config.json", "vae_decoder/model.onnx",
        "vae_encoder/config.json", "vae_encoder/model.onnx",
    ];

    /// <summary>stabilityai/sd-turbo main: diffusers folders + sd_turbo.safetensors, no ONNX.</summary>
    private static readonly string[] SdTurbo =
    [
        ".gitattributes", "README.md", "image_quality_one_step.png", "model_index.json", "prompt_alignment_one_step.png", "sd_turbo.safetensors",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
        .. Tokenizer.Select(f => "tokenizer/" + f),
        "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
    ];

    /// <summary>onnxruntime/sdxl-turbo (Olive): external data named model.onnx.data.</summary>
    private static readonly string[] OrtSdxlTurbo =
    [
        ".gitattributes", "README.md", "model_index.json", "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.onnx",
        "text_encoder_2/config.json", "text_encoder_2/model.onnx", "text_encoder_2/model.onnx.data",
        .. Tokenizer.Select(f => "tokenizer/" + f), .. Tokenizer.Select(f => "tokenizer_2/" + f),
        "unet/config.json", "unet/model.onnx", "unet/model.onnx.data",
        "vae_decoder/config.json", "vae_decoder/model.onnx", "vae_encoder/config.json", "vae_encoder/model.onnx",
    ];

    /// <summary>tlwu/sd-turbo-onnxruntime: single-file ONNX models, no configs in the model folders.</summary>
    private static readonly string[] TlwuSdTurbo =
    [
        ".gitattributes", "README.md", "model_index.json", "scheduler/scheduler_config.json",
        "text_encoder/model.onnx", .. Tokenizer.Select(f => "tokenizer/" + f),
        "unet/model.onnx", "vae_decoder/model.onnx", "vae_encoder/model.onnx",
    ];

    private static IReadOnlyList<HubRepoFile> Files(IEnumerable<string> paths) => paths.Select(p => new HubRepoFile(p)).ToList();

    private static string[] Paths(IEnumerable<HubRepoFile> files) => files.Select(f => f.Path).Order(StringComparer.Ordinal).ToArray();

    private static string[] Sorted(IEnumerable<string> paths) => paths.Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Onnx_on_sdxl_turbo_takes_the_optimum_export_only()
    {
        string[] expected = Sorted([
            "model_index.json", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.onnx",
            "text_encoder_2/config.json", "text_encoder_2/model.onnx", "text_encoder_2/model.onnx_data",
            .. Tokenizer.Select(f => "tokenizer/" + f), .. Tokenizer.Select(f => "tokenizer_2/" + f),
            "unet/config.json", "unet/model.onnx", "unet/model.onnx_data",
            "vae_decoder/config.json", "vae_decoder/model.onnx", "vae_encoder/config.json", "vae_encoder/model.onnx",
        ]);
        Assert.Equal(expected, Paths(HubFileSelector.Onnx(Files(SdxlTurbo))));
    }

    [Fact]
    public void Onnx_on_onnxruntime_repos_takes_dot_data_external_files()
    {
        var selected = Paths(HubFileSelector.Onnx(Files(OrtSdxlTurbo)));
        Assert.Equal(Sorted(OrtSdxlTurbo.Where(p => p is not (".gitattributes" or "README.md"))), selected);
        Assert.Contains("unet/model.onnx.data", selected);

        Assert.Equal(Sorted(TlwuSdTurbo.Where(p => p is not (".gitattributes" or "README.md"))), Paths(HubFileSelector.Onnx(Files(TlwuSdTurbo))));
    }

    [Fact]
    public void Onnx_on_a_repo_without_onnx_is_empty()
    {
        Assert.Empty(HubFileSelector.Onnx(Files(SdTurbo)));
    }

    [Fact]
    public void Safetensors_on_sdxl_turbo_prefers_fp16_per_component_and_skips_onnx_and_root_checkpoints()
    {
        string[] expected = Sorted([
            "model_index.json", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
            "text_encoder_2/config.json", "text_encoder_2/model.fp16.safetensors",
            .. Tokenizer.Select(f => "tokenizer/" + f), .. Tokenizer.Select(f => "tokenizer_2/" + f),
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
        ]);
        Assert.Equal(expected, Paths(HubFileSelector.Safetensors(Files(SdxlTurbo))));
    }

    [Fact]
    public void Safetensors_on_sd_turbo_never_takes_the_root_checkpoint()
    {
        var selected = Paths(HubFileSelector.Safetensors(Files(SdTurbo)));
        Assert.Equal(Sorted([
            "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.fp16.safetensors",
            .. Tokenizer.Select(f => "tokenizer/" + f), "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors",
        ]), selected);
    }

    [Fact]
    public void SingleFileCheckpoint_takes_the_one_root_checkpoint_fp16_first_with_the_tokenizers()
    {
        Assert.Equal(Sorted(["sd_xl_turbo_1.0_fp16.safetensors", .. Tokenizer.Select(f => "tokenizer/" + f), .. Tokenizer.Select(f => "tokenizer_2/" + f)]),
            Paths(HubFileSelector.SingleFileCheckpoint(Files(SdxlTurbo))));
        Assert.Equal(Sorted(["sd_turbo.safetensors", .. Tokenizer.Select(f => "tokenizer/" + f)]), Paths(HubFileSelector.SingleFileCheckpoint(Files(SdTurbo))));

        Assert.Empty(HubFileSelector.SingleFileCheckpoint(Files(OrtSdxlTurbo)));
        Assert.Empty(HubFileSelector.SingleFileCheckpoint(Files(["a.safetensors", "b.safetensors"]))); // which one is meant is unknown
        Assert.Empty(HubFileSelector.SingleFileCheckpoint(Files(["config.json", "diffusion_pytorch_model.safetensors"]))); // one component, not a model
        Assert.Equal(["model.safetensors"], Paths(HubFileSelector.SingleFileCheckpoint(Files(["README.md", "model.safetensors"]))));
    }

    [Fact]
    public void Safetensors_without_fp16_takes_the_plain_files_and_never_other_formats()
    {
        string[] repo =
        [
            "model_index.json", "sd_xl_turbo_1.0.ckpt", "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.safetensors", "text_encoder/pytorch_model.bin", "text_encoder/flax_model.msgpack",
            "text_encoder/tf_model.h5", "text_encoder/saved_model.pb", "text_encoder/model.bf16.safetensors",
            "unet/config.json", "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.safetensors",
            "unet/diffusion_pytorch_model.non_ema.safetensors", "unet/diffusion_flax_model.msgpack",
            "vae/config.json", "vae/diffusion_pytorch_model.bin",
            "feature_extractor/preprocessor_config.json",
        ];
        var selected = Paths(HubFileSelector.Safetensors(Files(repo)));
        Assert.Equal(Sorted([
            "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json", "text_encoder/model.safetensors",
            "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
        ]), selected);
        Assert.DoesNotContain(selected, p => p.EndsWith(".bin", StringComparison.Ordinal) || p.EndsWith(".ckpt", StringComparison.Ordinal)
            || p.EndsWith(".msgpack", StringComparison.Ordinal) || p.EndsWith(".pb", StringComparison.Ordinal) || p.EndsWith(".h5", StringComparison.Ordinal));
        Assert.Empty(HubFileSelector.Onnx(Files(repo)));
    }

    [Fact]
    public void Safetensors_sharded_weights_take_one_precision_and_its_index()
    {
        string[] repo =
        [
            "model_index.json",
            "unet/config.json",
            "unet/diffusion_pytorch_model-00001-of-00002.safetensors", "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
            "unet/diffusion_pytorch_model.safetensors.index.json",
            "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors",
            "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        ];
        Assert.Equal(Sorted([
            "model_index.json", "unet/config.json",
            "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors", "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors",
            "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        ]), Paths(HubFileSelector.Safetensors(Files(repo))));

        string[] fp32Only = [.. repo.Where(p => !p.Contains("fp16", StringComparison.Ordinal))];
        Assert.Equal(Sorted(fp32Only), Paths(HubFileSelector.Safetensors(Files(fp32Only))));
    }

    [Fact]
    public void SingleFile_selects_exactly_that_path()
    {
        Assert.Equal(["unet/config.json"], Paths(HubFileSelector.SingleFile("unet/config.json")(Files(SdxlTurbo))));
        Assert.Equal(["model_index.json"], Paths(HubFileSelector.SingleFile("/model_index.json")(Files(SdxlTurbo))));
        Assert.Empty(HubFileSelector.SingleFile("unet/missing.onnx")(Files(SdxlTurbo)));
    }

    [Fact]
    public void Selection_keeps_the_input_objects_and_order()
    {
        var files = Files(SdxlTurbo);
        var selected = HubFileSelector.Onnx(files);
        Assert.All(selected, f => Assert.Contains(f, files));
        var indexes = selected.Select(f => files.ToList().IndexOf(f)).ToList();
        Assert.Equal(indexes.Order().ToList(), indexes);
    }
}

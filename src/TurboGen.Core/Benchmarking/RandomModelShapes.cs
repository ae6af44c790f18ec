using TurboGen.Configs;

namespace TurboGen.Benchmarking;

/// <summary>
/// Model shapes <see cref="RandomCheckpoint"/> writes for benchmarks besides the published turbo models (whose configs are
/// <see cref="KnownConfigs"/>).
/// </summary>
public static class RandomModelShapes
{
    /// <summary>
    /// The shape of SDXS-512-DreamShaper (IDKiro/sdxs-512-dreamshaper, distilled from an SD 1.5 model): a block-removed UNet
    /// with block_out_channels 320/640/1280, <c>layers_per_block</c> 1, no mid block, the first level without attention
    /// (attention at the ×2 and ×4 down-sampled levels), 8 heads, cross_attention_dim 768, 1×1 conv proj_in/out (as
    /// stable-diffusion.cpp's SDXS: num_res_blocks 1, channel_mult {1,2,4}, attention_resolutions {4,2}, tiny UNet without
    /// middle block); the SD 1.x text encoder CLIP ViT-L/14 (768 wide, 12 layers, quick_gelu); the SD VAE (its decoder is
    /// replaced by a TAESD-class tiny decoder at run time, as SDXS ships); Euler with trailing spacing (one step from pure noise).
    /// </summary>
    public static ModelConfigSet Sdxs512 { get; } = new(
        ModelFamily.Sd,
        SdxsUnetConfigJson,
        ClipVitL14TextConfigJson,
        null,
        KnownConfigs.SdTurbo.VaeConfigJson,
        KnownConfigs.SdTurbo.SchedulerConfigJson,
        """
        {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.26.3", "feature_extractor": [null, null],
         "requires_safety_checker": false, "safety_checker": [null, null], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
         "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
         "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
        """);

    /// <summary>The UNet config of <see cref="Sdxs512"/> (diffusers field names).</summary>
    public const string SdxsUnetConfigJson = """
        {
          "_class_name": "UNet2DConditionModel",
          "_diffusers_version": "0.26.3",
          "act_fn": "silu",
          "attention_head_dim": 8,
          "block_out_channels": [320, 640, 1280],
          "center_input_sample": false,
          "cross_attention_dim": 768,
          "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
          "downsample_padding": 1,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": 1,
          "mid_block_type": null,
          "norm_eps": 1e-05,
          "norm_num_groups": 32,
          "only_cross_attention": false,
          "out_channels": 4,
          "sample_size": 64,
          "time_cond_proj_dim": null,
          "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
          "use_linear_projection": false
        }
        """;

    /// <summary>The text encoder config of the SD 1.x models (openai/clip-vit-large-patch14's text tower).</summary>
    public const string ClipVitL14TextConfigJson = """
        {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
         "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0, "initializer_range": 0.02,
         "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
         "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768,
         "torch_dtype": "float32", "vocab_size": 49408}
        """;
}

namespace TurboGen.Configs;

/// <summary>
/// The diffusers configs of the published turbo models (stabilityai/sdxl-turbo and stabilityai/sd-turbo, diffusers format),
/// needed at run time for their single-file checkpoints (<c>sd_xl_turbo_1.0_fp16.safetensors</c>, <c>sd_turbo.safetensors</c>),
/// which carry no configs, and by the benchmarks (<c>RandomCheckpoint</c>) to write full-size random models. Every field TurboGen reads is
/// as published; fields nothing here reads (e.g. <c>_diffusers_version</c>, the VAE's <c>sample_size</c>) are given as far as known.
/// </summary>
public static class KnownConfigs
{
    /// <summary>stabilityai/sdxl-turbo unet/config.json (SDXL UNet, 2,567,463,684 parameters, 512² → sample_size 64).</summary>
    public const string SdxlTurboUnet = """
        {
          "_class_name": "UNet2DConditionModel",
          "_diffusers_version": "0.24.0.dev0",
          "act_fn": "silu",
          "addition_embed_type": "text_time",
          "addition_embed_type_num_heads": 64,
          "addition_time_embed_dim": 256,
          "attention_head_dim": [5, 10, 20],
          "attention_type": "default",
          "block_out_channels": [320, 640, 1280],
          "center_input_sample": false,
          "class_embed_type": null,
          "class_embeddings_concat": false,
          "conv_in_kernel": 3,
          "conv_out_kernel": 3,
          "cross_attention_dim": 2048,
          "cross_attention_norm": null,
          "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
          "downsample_padding": 1,
          "dropout": 0.0,
          "dual_cross_attention": false,
          "encoder_hid_dim": null,
          "encoder_hid_dim_type": null,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": 2,
          "mid_block_only_cross_attention": null,
          "mid_block_scale_factor": 1,
          "mid_block_type": "UNetMidBlock2DCrossAttn",
          "norm_eps": 1e-05,
          "norm_num_groups": 32,
          "num_attention_heads": null,
          "num_class_embeds": null,
          "only_cross_attention": false,
          "out_channels": 4,
          "projection_class_embeddings_input_dim": 2816,
          "resnet_out_scale_factor": 1.0,
          "resnet_skip_time_act": false,
          "resnet_time_scale_shift": "default",
          "reverse_transformer_layers_per_block": null,
          "sample_size": 64,
          "time_cond_proj_dim": null,
          "time_embedding_act_fn": null,
          "time_embedding_dim": null,
          "time_embedding_type": "positional",
          "timestep_post_act": null,
          "transformer_layers_per_block": [1, 2, 10],
          "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
          "upcast_attention": null,
          "use_linear_projection": true
        }
        """;

    /// <summary>stabilityai/sdxl-turbo text_encoder/config.json (OpenAI CLIP ViT-L/14).</summary>
    public const string SdxlTurboTextEncoder = """
        {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
         "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0, "initializer_range": 0.02,
         "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
         "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768,
         "torch_dtype": "float16", "vocab_size": 49408}
        """;

    /// <summary>stabilityai/sdxl-turbo text_encoder_2/config.json (OpenCLIP ViT-bigG/14, with projection).</summary>
    public const string SdxlTurboTextEncoder2 = """
        {"architectures": ["CLIPTextModelWithProjection"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
         "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1280, "initializer_factor": 1.0, "initializer_range": 0.02,
         "intermediate_size": 5120, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
         "num_attention_heads": 20, "num_hidden_layers": 32, "pad_token_id": 1, "projection_dim": 1280,
         "torch_dtype": "float16", "vocab_size": 49408}
        """;

    /// <summary>stabilityai/sdxl-turbo vae/config.json (the SDXL VAE: scaling_factor 0.13025, force_upcast).</summary>
    public const string SdxlTurboVae = """
        {
          "_class_name": "AutoencoderKL",
          "_diffusers_version": "0.24.0.dev0",
          "act_fn": "silu",
          "block_out_channels": [128, 256, 512, 512],
          "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
          "force_upcast": true,
          "in_channels": 3,
          "latent_channels": 4,
          "layers_per_block": 2,
          "norm_num_groups": 32,
          "out_channels": 3,
          "sample_size": 1024,
          "scaling_factor": 0.13025,
          "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
        }
        """;

    /// <summary>stabilityai/sdxl-turbo scheduler/scheduler_config.json (Euler ancestral, trailing spacing).</summary>
    public const string SdxlTurboScheduler = """
        {"_class_name": "EulerAncestralDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear",
         "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false,
         "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "trailing", "trained_betas": null}
        """;

    /// <summary>stabilityai/sdxl-turbo model_index.json.</summary>
    public const string SdxlTurboModelIndex = """
        {"_class_name": "StableDiffusionXLPipeline", "_diffusers_version": "0.24.0.dev0",
         "feature_extractor": [null, null], "force_zeros_for_empty_prompt": true, "image_encoder": [null, null],
         "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
         "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
         "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
         "vae": ["diffusers", "AutoencoderKL"]}
        """;

    /// <summary>stabilityai/sd-turbo unet/config.json (the SD 2.1 base UNet, 865,910,724 parameters).</summary>
    public const string SdTurboUnet = """
        {
          "_class_name": "UNet2DConditionModel",
          "_diffusers_version": "0.24.0.dev0",
          "act_fn": "silu",
          "addition_embed_type": null,
          "addition_embed_type_num_heads": 64,
          "addition_time_embed_dim": null,
          "attention_head_dim": [5, 10, 20, 20],
          "attention_type": "default",
          "block_out_channels": [320, 640, 1280, 1280],
          "center_input_sample": false,
          "class_embed_type": null,
          "class_embeddings_concat": false,
          "conv_in_kernel": 3,
          "conv_out_kernel": 3,
          "cross_attention_dim": 1024,
          "cross_attention_norm": null,
          "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
          "downsample_padding": 1,
          "dropout": 0.0,
          "dual_cross_attention": false,
          "encoder_hid_dim": null,
          "encoder_hid_dim_type": null,
          "flip_sin_to_cos": true,
          "freq_shift": 0,
          "in_channels": 4,
          "layers_per_block": 2,
          "mid_block_only_cross_attention": null,
          "mid_block_scale_factor": 1,
          "mid_block_type": "UNetMidBlock2DCrossAttn",
          "norm_eps": 1e-05,
          "norm_num_groups": 32,
          "num_attention_heads": null,
          "num_class_embeds": null,
          "only_cross_attention": false,
          "out_channels": 4,
          "projection_class_embeddings_input_dim": null,
          "resnet_out_scale_factor": 1.0,
          "resnet_skip_time_act": false,
          "resnet_time_scale_shift": "default",
          "reverse_transformer_layers_per_block": null,
          "sample_size": 64,
          "time_cond_proj_dim": null,
          "time_embedding_act_fn": null,
          "time_embedding_dim": null,
          "time_embedding_type": "positional",
          "timestep_post_act": null,
          "transformer_layers_per_block": 1,
          "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
          "upcast_attention": null,
          "use_linear_projection": true
        }
        """;

    /// <summary>
    /// stabilityai/sd-turbo text_encoder/config.json (OpenCLIP ViT-H/14 text tower cut to 23 of its 24 layers: SD 2.x conditions
    /// on the penultimate layer, followed by the final LayerNorm).
    /// </summary>
    public const string SdTurboTextEncoder = """
        {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, "eos_token_id": 2,
         "hidden_act": "gelu", "hidden_size": 1024, "initializer_factor": 1.0, "initializer_range": 0.02,
         "intermediate_size": 4096, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
         "num_attention_heads": 16, "num_hidden_layers": 23, "pad_token_id": 1, "projection_dim": 512,
         "torch_dtype": "float16", "vocab_size": 49408}
        """;

    /// <summary>stabilityai/sd-turbo vae/config.json (the SD 2.x VAE: same network as SDXL's, scaling_factor 0.18215).</summary>
    public const string SdTurboVae = """
        {
          "_class_name": "AutoencoderKL",
          "_diffusers_version": "0.24.0.dev0",
          "act_fn": "silu",
          "block_out_channels": [128, 256, 512, 512],
          "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
          "force_upcast": true,
          "in_channels": 3,
          "latent_channels": 4,
          "layers_per_block": 2,
          "norm_num_groups": 32,
          "out_channels": 3,
          "sample_size": 768,
          "scaling_factor": 0.18215,
          "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
        }
        """;

    /// <summary>stabilityai/sd-turbo scheduler/scheduler_config.json (Euler, non-ancestral, trailing spacing).</summary>
    public const string SdTurboScheduler = """
        {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
         "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear",
         "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false,
         "sigma_max": null, "sigma_min": null, "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "trailing",
         "timestep_type": "discrete", "trained_betas": null, "use_karras_sigmas": false}
        """;

    /// <summary>stabilityai/sd-turbo model_index.json.</summary>
    public const string SdTurboModelIndex = """
        {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
         "feature_extractor": [null, null], "image_encoder": [null, null], "requires_safety_checker": true,
         "safety_checker": [null, null], "scheduler": ["diffusers", "EulerDiscreteScheduler"],
         "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
         "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
        """;

    /// <summary>All configs of stabilityai/sdxl-turbo.</summary>
    public static ModelConfigSet SdxlTurbo { get; } = new(ModelFamily.Sdxl, SdxlTurboUnet, SdxlTurboTextEncoder, SdxlTurboTextEncoder2,
        SdxlTurboVae, SdxlTurboScheduler, SdxlTurboModelIndex);

    /// <summary>All configs of stabilityai/sd-turbo.</summary>
    public static ModelConfigSet SdTurbo { get; } = new(ModelFamily.Sd, SdTurboUnet, SdTurboTextEncoder, null,
        SdTurboVae, SdTurboScheduler, SdTurboModelIndex);

    /// <summary>The turbo model of <paramref name="family"/>: SDXL-Turbo or SD-Turbo.</summary>
    public static ModelConfigSet For(ModelFamily family) => family switch
    {
        ModelFamily.Sdxl => SdxlTurbo,
        ModelFamily.Sd => SdTurbo,
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };
}

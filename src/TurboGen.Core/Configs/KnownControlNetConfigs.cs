namespace TurboGen.Configs;

/// <summary>
/// The configs of published ControlNets, for full-size random-weight benchmarks: SDXL = diffusers/controlnet-canny-sdxl-1.0
/// (the encoder of the SDXL UNet, text_time conditioning), SD 2.x = thibaud/controlnet-sd21 (the SD 2.1 encoder, linear projections).
/// </summary>
public static class KnownControlNetConfigs
{
    /// <summary>The config.json of diffusers/controlnet-canny-sdxl-1.0 (three down blocks, cross-attention width 2048, text_time conditioning).</summary>
    public const string Sdxl = """
        {"_class_name": "ControlNetModel", "_diffusers_version": "0.20.0.dev0", "act_fn": "silu", "addition_embed_type": "text_time",
         "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
         "block_out_channels": [320, 640, 1280], "class_embed_type": null, "conditioning_channels": 3,
         "conditioning_embedding_out_channels": [16, 32, 96, 256], "controlnet_conditioning_channel_order": "rgb",
         "cross_attention_dim": 2048, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
         "downsample_padding": 1, "encoder_hid_dim": null, "encoder_hid_dim_type": null, "flip_sin_to_cos": true, "freq_shift": 0,
         "global_pool_conditions": false, "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
         "norm_num_groups": 32, "num_attention_heads": null, "num_class_embeds": null, "only_cross_attention": false,
         "projection_class_embeddings_input_dim": 2816, "resnet_time_scale_shift": "default", "transformer_layers_per_block": [1, 2, 10],
         "upcast_attention": null, "use_linear_projection": true}
        """;

    /// <summary>The config.json of thibaud/controlnet-sd21 (four down blocks, cross-attention width 1024, linear projections).</summary>
    public const string Sd = """
        {"_class_name": "ControlNetModel", "act_fn": "silu", "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
         "class_embed_type": null, "conditioning_embedding_out_channels": [16, 32, 96, 256], "controlnet_conditioning_channel_order": "rgb",
         "cross_attention_dim": 1024, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
         "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1,
         "norm_eps": 1e-05, "norm_num_groups": 32, "num_class_embeds": null, "only_cross_attention": false, "resnet_time_scale_shift": "default",
         "upcast_attention": false, "use_linear_projection": true}
        """;

    /// <summary><see cref="Sdxl"/> for <see cref="ModelFamily.Sdxl"/>, else <see cref="Sd"/>.</summary>
    public static string For(ModelFamily family) => family == ModelFamily.Sdxl ? Sdxl : Sd;
}

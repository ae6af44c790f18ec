using System.Text.Json;
using System.Text.Json.Nodes;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Unet;

namespace TurboGen.Graphs.Architectures.ControlNet;

/// <summary>
/// A diffusers <c>ControlNetModel</c> config.json: the encoder half of a UNet (<see cref="Unet"/>: time embedding, conv_in, down
/// blocks, mid block, read by the same rules as <see cref="UnetConfig"/>) plus the conditioning embedding
/// (<c>conditioning_channels</c> → <c>conditioning_embedding_out_channels</c>), the channel order of the control image
/// (<c>controlnet_conditioning_channel_order</c> rgb/bgr) and <c>global_pool_conditions</c> (residuals averaged over space).
/// </summary>
public sealed record ControlNetConfig(
    UnetConfig Unet,
    int ConditioningChannels,
    IReadOnlyList<int> ConditioningEmbeddingOutChannels,
    bool BgrChannelOrder,
    bool GlobalPoolConditions)
{
    /// <summary>The down-sampling factor of the conditioning embedding (control image pixels per latent pixel): 2^(stages − 1), 8 for every published ControlNet.</summary>
    public int ConditioningDownscale => 1 << (ConditioningEmbeddingOutChannels.Count - 1);

    /// <summary>Parses a ControlNetModel config.json (the up-block fields a UNet config has are not needed and ignored).</summary>
    public static ControlNetConfig FromJson(string json, string source = "controlnet/config.json")
    {
        var r = ConfigReader.Parse(json, "ControlNet config", source);
        // The encoder is read by the UNet's rules; a ControlNet has no up blocks, so the UNet reader gets the mirror of the down blocks.
        JsonObject node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new ModelLoadException(source, $"ControlNet config {source} is not a JSON object: {e.Message}", e);
        }
        var down = r.StringList("down_block_types") ?? throw r.Error("down_block_types is missing");
        node["up_block_types"] = new JsonArray(down.Reverse().Select(t => (JsonNode)(t == UnetConfig.CrossAttnDownBlock2D ? UnetConfig.CrossAttnUpBlock2D : UnetConfig.UpBlock2D)).ToArray());
        var unet = UnetConfig.FromJson(node.ToJsonString(), source);
        if (unet.MidBlock() is null) throw r.Error("mid_block_type null is not supported: a ControlNet needs its mid block (UNetMidBlock2DCrossAttn)");
        if (unet.HasGuidanceEmbedding) throw r.Error("time_cond_proj_dim is not supported in a ControlNet (only null)");
        if (unet.OnlyCrossAttention.Any(x => x)) throw r.Error("only_cross_attention is not supported in a ControlNet (only false)");

        var embedding = r.IntList("conditioning_embedding_out_channels")?.ToList() ?? [16, 32, 96, 256];
        if (embedding.Count == 0 || embedding.Any(c => c <= 0)) throw r.Error("conditioning_embedding_out_channels must be a non-empty list of positive channel counts");
        string order = r.String("controlnet_conditioning_channel_order", "rgb");
        if (order is not ("rgb" or "bgr")) throw r.Error($"controlnet_conditioning_channel_order '{order}' is not supported (rgb or bgr)");
        int channels = r.Int("conditioning_channels", 3);
        if (channels <= 0) throw r.Error($"conditioning_channels {channels} must be positive");
        return new ControlNetConfig(unet, channels, embedding, order == "bgr", r.Bool("global_pool_conditions", false));
    }
}

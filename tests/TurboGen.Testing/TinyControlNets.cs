using System.Text.Json.Nodes;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;
using TurboGen.Weights;

namespace TurboGen.Testing;

/// <summary>
/// Tiny but real ControlNets for the test kit: the diffusers <c>ControlNetModel</c> architecture at toy width (two blocks of 8
/// and 16 channels, one layer each, a four-stage conditioning embedding), seeded random weights under the real key names and
/// shapes (<see cref="ControlNetCheckpointLayout"/>), for the tiny models' text widths (<see cref="TinyModels"/>: SD 32,
/// SDXL 32+40 with text_time conditioning on the 32-wide pooled embedding). Written as a diffusers folder (config.json +
/// diffusion_pytorch_model.safetensors), or built into an ONNX folder with the real builder. They match the residual inputs of
/// <see cref="TinyModels.GetControlled"/>.
/// </summary>
public static class TinyControlNets
{
    private static readonly Dictionary<(TinyFamily, bool), string> Cache = new();

    /// <summary>The tiny ControlNet config.json for <paramref name="family"/>.</summary>
    public static string ConfigJson(TinyFamily family)
    {
        bool xl = family == TinyFamily.SdxlTurbo;
        var config = new JsonObject
        {
            ["_class_name"] = "ControlNetModel",
            ["_diffusers_version"] = "0.26.3",
            ["in_channels"] = 4,
            ["conditioning_channels"] = 3,
            ["conditioning_embedding_out_channels"] = new JsonArray(4, 4, 8, 8),
            ["block_out_channels"] = new JsonArray(8, 16),
            ["down_block_types"] = new JsonArray("DownBlock2D", "CrossAttnDownBlock2D"),
            ["layers_per_block"] = 1,
            ["attention_head_dim"] = new JsonArray(1, 2),
            ["transformer_layers_per_block"] = 1,
            ["cross_attention_dim"] = xl ? TinyModels.TextDim1 + TinyModels.TextDim2 : TinyModels.SdTextDim,
            ["norm_num_groups"] = 4,
            ["use_linear_projection"] = true,
            ["controlnet_conditioning_channel_order"] = "rgb",
        };
        if (xl)
        {
            config["addition_embed_type"] = "text_time";
            config["addition_time_embed_dim"] = 8;
            config["projection_class_embeddings_input_dim"] = TinyModels.ProjDim + 6 * 8;
        }
        return config.ToJsonString();
    }

    /// <summary>Channels and down-sampling factors of the residuals (down residuals, then the mid residual).</summary>
    public static (IReadOnlyList<int> Channels, IReadOnlyList<int> Downscales) ResidualLayout()
    {
        var unet = ControlNetConfig.FromJson(ConfigJson(TinyFamily.SdTurbo)).Unet;
        return ([.. unet.SkipChannels(), unet.BlockOutChannels[^1]], [.. unet.SkipDownscales(), unet.SkipDownscales()[^1]]);
    }

    /// <summary>Writes a diffusers ControlNet folder (config.json + diffusion_pytorch_model.safetensors, F32 or F16).</summary>
    public static string WriteDiffusers(string dir, TinyFamily family, ulong seed = 31, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        Directory.CreateDirectory(dir);
        string json = ConfigJson(family);
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        var config = ControlNetConfig.FromJson(json);
        new RandomUnetCheckpoint(ControlNetCheckpointLayout.Tensors(config), seed).WriteSafetensors(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), dtype);
        return dir;
    }

    /// <summary>
    /// The tiny ControlNet of <paramref name="family"/> as an ONNX folder (<c>model.onnx</c> + <c>model.onnx_data</c> + config.json,
    /// built by <see cref="ControlNetModel"/> with a rank-0 float timestep), created once per process; or its diffusers folder.
    /// </summary>
    public static string Get(TinyFamily family, bool onnx = true)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue((family, onnx), out string? existing) && Directory.Exists(existing)) return existing;
            string dir = Path.Combine(Path.GetTempPath(), $"turbogen-tiny-controlnet-{family}-{(onnx ? "onnx" : "diffusers")}-{Environment.ProcessId}-{Guid.NewGuid():N}");
            TestPaths.DeleteAtExit(dir);
            if (onnx)
            {
                string source = WriteDiffusers(dir + "-src", family);
                var config = ControlNetConfig.FromJson(ConfigJson(family));
                using (var weights = new SafetensorsCheckpoint(Path.Combine(source, "diffusion_pytorch_model.safetensors")))
                {
                    ControlNetModel.Build(config, weights, new UnetBuildOptions { GraphName = "controlnet" })
                        .Save(Path.Combine(dir, "model.onnx"), "model.onnx_data");
                }
                File.WriteAllText(Path.Combine(dir, "config.json"), ConfigJson(family));
                Directory.Delete(source, recursive: true);
            }
            else
            {
                WriteDiffusers(dir, family);
            }
            Cache[(family, onnx)] = dir;
            return dir;
        }
    }
}

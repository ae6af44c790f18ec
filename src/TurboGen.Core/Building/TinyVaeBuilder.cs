using System.Text.Json.Nodes;
using System.Text.Json;
using TurboGen.Checkpoints;
using TurboGen.Configs;
using TurboGen.Graphs.Architectures.Taesd;
using TurboGen.Graphs;
using TurboGen.Runtime;
using TurboGen.Storage;
using TurboGen.Weights;

namespace TurboGen.Building;

/// <summary>
/// Builds a tiny VAE (TAESD / TAESDXL) from a diffusers <c>AutoencoderTiny</c> folder (<c>config.json</c> +
/// <c>diffusion_pytorch_model[.fp16].safetensors</c>, as in madebyollin/taesd and madebyollin/taesdxl) into the folder
/// <see cref="TurboModel.Load"/> takes as <see cref="ModelLoadOptions.TinyVaePath"/>: <c>vae_decoder/model.onnx</c>
/// (<c>latent_sample</c> → <c>sample</c> in [-1, 1], diffusers' convention), <c>vae_encoder/model.onnx</c>
/// (<c>sample</c> in [-1, 1] → <c>latent_sample</c>), and <c>config.json</c> with <c>_class_name: AutoencoderTiny</c>
/// (which tells the loader the output range).
/// </summary>
public static class TinyVaeBuilder
{
    /// <summary>True when <paramref name="folder"/> holds an AutoencoderTiny config and safetensors weights.</summary>
    public static bool IsAutoencoderTinyFolder(string folder)
    {
        string config = Path.Combine(folder, "config.json");
        if (!File.Exists(config) || !Directory.EnumerateFiles(folder, "*.safetensors").Any()) return false;
        try
        {
            return ConfigReader.Load(config, "TAESD config").OptionalString("_class_name") == "AutoencoderTiny";
        }
        catch (ModelLoadException)
        {
            return false;
        }
    }

    /// <summary>The content identity of the folder (config text + weight files), used as the cache key.</summary>
    public static string ContentHash(string folder, string? cacheRoot = null)
    {
        string config = File.ReadAllText(RequireConfig(folder));
        var lines = new List<string> { "turbogen tiny vae v1", "config " + FileContentId.HashText(config) };
        lines.AddRange(DiffusersCheckpoint.WeightFiles(folder).Select(f => $"weights {Path.GetFileName(f)} {FileContentId.Of(f, cacheRoot)}"));
        return FileContentId.HashText(string.Join("\n", lines));
    }

    /// <summary>Writes the tiny VAE ONNX folder for the AutoencoderTiny folder <paramref name="sourceFolder"/> into the empty folder <paramref name="dir"/>.</summary>
    public static void WriteInto(string sourceFolder, string dir, IProgress<string>? progress = null, CancellationToken cancellationToken = default,
        BuildPrecision precision = BuildPrecision.Float32)
    {
        string configPath = RequireConfig(sourceFolder);
        string configJson = File.ReadAllText(configPath);
        var config = AutoencoderTinyConfig.FromJson(configJson, configPath);
        var onnxConfig = JsonNode.Parse(configJson)!.AsObject();
        onnxConfig["_class_name"] = "AutoencoderTiny";
        string outConfig = onnxConfig.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

        using var weights = new SafetensorsCheckpoint([.. DiffusersCheckpoint.WeightFiles(sourceFolder)]);
        var report = new JsonObject();
        OnnxModelBuilder.WriteComponent(dir, "vae_decoder", outConfig, progress, cancellationToken, report,
            () => AutoencoderTiny.BuildDecoder(config, weights, new AutoencoderTinyBuildOptions { ImageMinusOneToOne = true, Precision = precision }));
        OnnxModelBuilder.WriteComponent(dir, "vae_encoder", outConfig, progress, cancellationToken, report,
            () => AutoencoderTiny.BuildEncoder(config, weights, new AutoencoderTinyBuildOptions { ImageMinusOneToOne = true, Precision = precision }));
        File.WriteAllText(Path.Combine(dir, "config.json"), outConfig);
        var info = new JsonObject
        {
            ["builder"] = "TurboGen",
            ["builder_version"] = OnnxModelBuilder.BuilderVersion,
            ["precision"] = precision.ShortName(),
            ["source"] = Path.GetFullPath(sourceFolder),
            ["components"] = report,
        };
        File.WriteAllText(Path.Combine(dir, OnnxModelBuilder.BuildInfoFile), info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    private static string RequireConfig(string folder)
    {
        string path = Path.Combine(folder, "config.json");
        return File.Exists(path) ? path
            : throw new ModelLoadException(path, $"Missing config.json in {folder}: expected a diffusers AutoencoderTiny folder (config.json + diffusion_pytorch_model.safetensors).");
    }
}

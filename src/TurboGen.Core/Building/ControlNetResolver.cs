using System.Text.Json.Nodes;
using TurboGen.Checkpoints;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.ControlNet;
using TurboGen.Graphs.Architectures.Unet;

namespace TurboGen.Building;

/// <summary>
/// Turns the ControlNet the user named into an ONNX file for <see cref="Runtime.ControlNet.Load"/>: an ONNX export (a
/// <c>model.onnx</c> file, or a folder holding <c>model.onnx</c> or <c>controlnet/model.onnx</c>) is used as is; a diffusers
/// ControlNet folder or an original single file (<see cref="ControlNetCheckpoint"/>) is built once with
/// <see cref="ControlNetModel"/> into the built-model cache (<c>built/controlnet-&lt;hash&gt;-b&lt;version&gt;[-fp16][-kernels]/controlnet/</c>,
/// rank-0 float <c>timestep</c> like the built UNets), in the options' precision and kernels.
/// </summary>
public static class ControlNetResolver
{
    /// <summary>The ControlNet's <c>model.onnx</c>, building it first when <paramref name="path"/> is a safetensors checkpoint.</summary>
    /// <exception cref="ModelLoadException">Not found or not a ControlNet (names the path and what was expected).</exception>
    public static string Resolve(string path, ModelResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new ModelResolveOptions();
        path = Path.GetFullPath(path);
        if (File.Exists(path) && path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return path;
        foreach (string candidate in new[] { Path.Combine(path, "model.onnx"), Path.Combine(path, "controlnet", "model.onnx") })
        {
            if (File.Exists(candidate)) return candidate;
        }
        using var checkpoint = ControlNetCheckpoint.Open(path, options.CacheRoot);
        string key = $"controlnet-{checkpoint.ContentHash}{BuiltModelCache.PrecisionSuffix(options.Precision)}{BuiltModelCache.KernelSuffix(options.Kernels)}";
        string dir = BuiltModelCache.GetOrCreate(key, options.CacheRoot,
            d => File.Exists(Path.Combine(d, "controlnet", "model.onnx")) && File.Exists(Path.Combine(d, OnnxModelBuilder.BuildInfoFile)),
            d => Write(checkpoint, d, options, cancellationToken),
            options.Progress);
        return Path.Combine(dir, "controlnet", "model.onnx");
    }

    /// <summary>Builds <paramref name="checkpoint"/> into <c>dir/controlnet/</c> (model.onnx, model.onnx_data, config.json) with a build-info file.</summary>
    internal static void Write(ControlNetCheckpoint checkpoint, string dir, ModelResolveOptions options, CancellationToken ct)
    {
        var report = new JsonObject();
        var buildOptions = new UnetBuildOptions { GraphName = "controlnet", Timestep = TimestepInput.ScalarFloat, Precision = options.Precision, Kernels = options.Kernels };
        OnnxModelBuilder.WriteComponent(dir, "controlnet", checkpoint.ConfigJson, options.Progress, ct, report,
            () => ControlNetModel.Build(checkpoint.Config, checkpoint.Weights, buildOptions));
        var info = new JsonObject
        {
            ["builder"] = "TurboGen",
            ["builder_version"] = OnnxModelBuilder.BuilderVersion,
            ["content_hash"] = checkpoint.ContentHash,
            ["source"] = checkpoint.Source,
            ["kind"] = "controlnet",
            ["family"] = checkpoint.Config.Unet.HasTextTimeEmbedding ? "sdxl" : "sd",
            ["precision"] = options.Precision.ShortName(),
            ["kernels"] = options.Kernels.Name,
            ["components"] = report,
        };
        File.WriteAllText(Path.Combine(dir, OnnxModelBuilder.BuildInfoFile), info.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Building;
using TurboGen.Graphs;
using TurboGen.Graphs.Architectures.Esrgan;
using TurboGen.Runtime;
using TurboGen.Storage;
using TurboGen.Tensors;
using TurboGen.Weights;

namespace TurboGen.Upscaling;

/// <summary>
/// A loaded ESRGAN-family network (one ONNX Runtime session): <c>image</c> [1, 3, h, w] in [0, 1] → [1, 3, h·s, w·s].
/// <see cref="Load"/> takes a Real-ESRGAN <c>.safetensors</c> (built into ONNX once and cached under the built-model cache,
/// keyed by the file's content) or an ONNX file with one image input and one image output (its scale found by a probe run).
/// </summary>
public sealed class EsrganModel : OnnxComponent
{
    /// <summary>The cache key's version: bump when the graph changes.</summary>
    public const int GraphVersion = 1;

    private readonly string _input;
    private readonly string _output;

    private EsrganModel(string name, InferenceSession session, string path) : base(name, session, path)
    {
        if (InputMetadata.Count != 1 || OutputMetadata.Count != 1)
        {
            throw new ModelContractException(path, $"{path}: an upscaler has one image input and one image output; found {DescribeIo()}.");
        }
        _input = InputMetadata.Keys.First();
        _output = OutputMetadata.Keys.First();
    }

    /// <summary>The factor from input to output side (4, 2 or 1).</summary>
    public int Scale { get; private set; }

    /// <summary>Input sides must be multiples of this (the pixel-unshuffle factor).</summary>
    public int InputMultiple { get; private set; } = 1;

    /// <summary>The architecture, when built from a checkpoint (null for an ONNX file).</summary>
    public RrdbNetConfig? Config { get; private set; }

    /// <summary>Loads <paramref name="path"/> (.safetensors: build through the cache; .onnx: as is) with <paramref name="runtime"/>.</summary>
    public static EsrganModel Load(string path, RuntimeOptions? runtime = null, string? cacheRoot = null, IProgress<string>? progress = null,
        BuildPrecision precision = BuildPrecision.Float32)
    {
        runtime ??= new RuntimeOptions();
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, $"Upscaler model not found: {path}");
        }
        string name = System.IO.Path.GetFileNameWithoutExtension(path);
        string extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension == ".onnx")
        {
            var model = new EsrganModel(name, SessionFactory.Create(path, runtime), path) { ReleaseMemoryAfterRun = runtime.ReleaseMemoryAfterRun };
            model.Probe();
            return model;
        }
        if (extension != ".safetensors")
        {
            throw new ModelLoadException(path, $"{path}: upscalers are read from .safetensors (Real-ESRGAN key names) or .onnx; convert a .pth with safetensors' torch tools first.");
        }
        string dir = GetOrBuild(path, cacheRoot, progress, precision);
        var config = JsonSerializer.Deserialize<RrdbNetConfig>(File.ReadAllText(System.IO.Path.Combine(dir, "config.json")))
            ?? throw new ModelLoadException(dir, $"{dir}/config.json is empty.");
        return new EsrganModel(name, SessionFactory.Create(System.IO.Path.Combine(dir, "model.onnx"), runtime), path)
        {
            ReleaseMemoryAfterRun = runtime.ReleaseMemoryAfterRun,
            Scale = config.Scale,
            InputMultiple = config.InputMultiple,
            Config = config,
        };
    }

    /// <summary>The cached ONNX folder (<c>model.onnx</c> + <c>config.json</c>) for a checkpoint, built first when missing.</summary>
    public static string GetOrBuild(string checkpoint, string? cacheRoot = null, IProgress<string>? progress = null, BuildPrecision precision = BuildPrecision.Float32)
    {
        string key = $"esrgan-g{GraphVersion}-{FileContentId.Of(checkpoint, cacheRoot)}{(precision == BuildPrecision.Float32 ? "" : "-" + precision.ShortName())}";
        return BuiltModelCache.GetOrCreate(key, cacheRoot,
            dir => File.Exists(System.IO.Path.Combine(dir, "model.onnx")) && File.Exists(System.IO.Path.Combine(dir, "config.json")),
            dir => Build(checkpoint, dir, precision), progress);
    }

    /// <summary>
    /// Builds <paramref name="checkpoint"/> into <paramref name="dir"/> (<paramref name="fileName"/> + <c>model.onnx_data</c>, <c>config.json</c>,
    /// build info): the checkpoint is checked against the architecture its shapes imply first.
    /// </summary>
    public static RrdbNetConfig Build(string checkpoint, string dir, BuildPrecision precision = BuildPrecision.Float32, string fileName = "model.onnx")
    {
        using var file = new SafetensorsCheckpoint(checkpoint);
        var weights = EsrganCheckpoint.Unwrap(file);
        var config = RrdbNetConfig.Infer(weights);
        var graph = RrdbNet.Build(config, weights, precision);
        Directory.CreateDirectory(dir);
        graph.Save(System.IO.Path.Combine(dir, fileName), OnnxModelBuilder.DataFileName);
        File.WriteAllText(System.IO.Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        var info = new JsonObject
        {
            ["builder"] = "TurboGen",
            ["architecture"] = "RRDBNet",
            ["graph_version"] = GraphVersion,
            ["precision"] = precision.ShortName(),
            ["source"] = System.IO.Path.GetFullPath(checkpoint),
            ["weight_bytes"] = graph.Initializers.Sum(i => i.Data.ByteLength),
        };
        File.WriteAllText(System.IO.Path.Combine(dir, OnnxModelBuilder.BuildInfoFile), info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return config;
    }

    /// <summary>Runs the network on one tile [1, 3, h, w] (with the ONNX Runtime time).</summary>
    public Timed<FloatTensor> Upscale(FloatTensor tile, CancellationToken cancellationToken = default)
    {
        using var input = FloatInput(_input, tile.Data, tile.Shape);
        var (results, milliseconds) = Run([_input], [input], [_output], cancellationToken);
        using (results)
        {
            return new(ReadFloat(results[0]), milliseconds);
        }
    }

    /// <summary>An ONNX upscaler's scale and input multiple: from a 16×16 run (the largest pixel-unshuffle factor divides 16).</summary>
    private void Probe()
    {
        var output = Upscale(new FloatTensor(new float[3 * 16 * 16], [1, 3, 16, 16])).Value;
        if (output.Shape.Length != 4 || output.Shape[2] != output.Shape[3] || output.Shape[2] % 16 != 0 || output.Shape[2] / 16 is not (1 or 2 or 4 or 8))
        {
            throw new ModelContractException(Path, $"{Path}: a 16×16 input gave [{string.Join(",", output.Shape)}]; an upscaler gives [1,3,16·s,16·s] with s 1, 2, 4 or 8.");
        }
        Scale = (int)(output.Shape[2] / 16);
        InputMultiple = Scale switch { 1 => 4, 2 => 2, _ => 1 };
    }
}

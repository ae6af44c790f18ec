using System.Globalization;
using TurboGen.Building;
using TurboGen.Imaging;
using TurboGen.Pipelines;
using TurboGen.Runtime;

namespace TurboGen.Cli;

/// <summary>One <c>--control MODULE:FILE[:SCALE]</c>: a preprocessor module (<see cref="ControlPreprocessor.Modules"/>), an image file and a conditioning scale.</summary>
internal sealed record ControlSpec(string Module, string File, float Scale)
{
    /// <summary>
    /// Parses and checks one spec before anything is loaded: the module must be known (not "model", which needs an ONNX file),
    /// the file must exist, the optional scale must be a number in 0–<see cref="ControlInput.MaxScale"/>.
    /// </summary>
    public static ControlSpec Parse(string text)
    {
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new InvalidRequestException("--control", $"--control expects MODULE:FILE[:SCALE] (e.g. canny:edges.png:0.8), got '{text}'.");
        }
        string module = text[..colon].Trim().ToLowerInvariant(), rest = text[(colon + 1)..];
        float scale = 1f;
        int last = rest.LastIndexOf(':');
        if (last > 0 && float.TryParse(rest[(last + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out float s))
        {
            scale = s;
            rest = rest[..last];
        }
        if (!ControlPreprocessor.Modules.Contains(module) || module == "model")
        {
            throw new InvalidRequestException("--control",
                $"Unknown control module '{module}' in --control {text}; use one of {string.Join(", ", ControlPreprocessor.Modules.Where(m => m != "model"))}.");
        }
        if (!float.IsFinite(scale) || scale < 0 || scale > ControlInput.MaxScale)
        {
            throw new InvalidRequestException("--control", $"The scale in --control {text} must be between 0 and {ControlInput.MaxScale}.");
        }
        string path = Path.GetFullPath(rest);
        if (!System.IO.File.Exists(path))
        {
            throw new InvalidRequestException("--control", $"Control image not found: {path} (from --control {text}).");
        }
        return new ControlSpec(module, path, scale);
    }

    /// <summary>Checks that the numbers of <c>--control</c> and <c>--controlnet</c> match (the i-th image steers the i-th ControlNet).</summary>
    public static void CheckPairs(IReadOnlyList<ControlSpec> controls, IReadOnlyList<string> controlnets)
    {
        if (controls.Count != controlnets.Count)
        {
            throw new InvalidRequestException(controls.Count > controlnets.Count ? "--controlnet" : "--control",
                $"Give one --controlnet MODEL per --control MODULE:FILE (got {controlnets.Count} ControlNet(s) and {controls.Count} control image(s)).");
        }
    }

    /// <summary>Resolves (building if needed) and loads each ControlNet, and turns each image into its control image.</summary>
    public static List<ControlInput> Load(IReadOnlyList<ControlSpec> controls, IReadOnlyList<string> controlnets, ModelResolveOptions options, RuntimeOptions runtime,
        List<IDisposable> owned, CancellationToken ct)
    {
        var inputs = new List<ControlInput>();
        for (int i = 0; i < controls.Count; i++)
        {
            string onnx = ControlNetResolver.Resolve(controlnets[i], options, ct);
            var controlnet = ControlNet.Load(onnx, runtime);
            owned.Add(controlnet);
            var image = ControlPreprocessor.Apply(controls[i].Module, ImageCodec.Load(controls[i].File), cancellationToken: ct);
            inputs.Add(new ControlInput(controlnet, image) { Scale = controls[i].Scale });
        }
        return inputs;
    }
}

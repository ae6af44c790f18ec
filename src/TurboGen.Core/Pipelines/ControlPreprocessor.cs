using TurboGen.Imaging;
using TurboGen.Runtime;

namespace TurboGen.Pipelines;

/// <summary>
/// Turns a user's image into a ControlNet control image by module name (the A1111 ControlNet extension's names where they exist):
/// <c>none</c> (the image is already a control image), <c>canny</c> (<see cref="CannyEdges"/>, thresholds low/high),
/// <c>scribble</c> / <c>invert</c> (a drawn sketch binarised to white strokes on black, <see cref="SketchOps.Scribble"/>),
/// <c>lineart</c> (a sketch as white lines on black, <see cref="SketchOps.Lineart"/>), and <c>model</c>: a user-supplied ONNX
/// preprocessor such as Depth-Anything (<see cref="PreprocessorModel"/>).
/// </summary>
public static class ControlPreprocessor
{
    /// <summary>The module names <see cref="Apply"/> knows.</summary>
    public static IReadOnlyList<string> Modules { get; } = ["none", "canny", "scribble", "invert", "lineart", "model"];

    /// <summary>Runs <paramref name="module"/> on <paramref name="image"/>.</summary>
    /// <param name="module">One of <see cref="Modules"/> (case-insensitive).</param>
    /// <param name="image">The user's image.</param>
    /// <param name="low">canny: low threshold (default 100); scribble: threshold (default 127).</param>
    /// <param name="high">canny: high threshold (default 200).</param>
    /// <param name="model">module "model": the loaded preprocessor.</param>
    /// <param name="cancellationToken">Stops the preprocessor model's run (module "model").</param>
    /// <exception cref="InvalidRequestException">Unknown module, or "model" without a model (field "module").</exception>
    public static RgbImage Apply(string module, RgbImage image, double? low = null, double? high = null, PreprocessorModel? model = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return (module ?? "none").Trim().ToLowerInvariant() switch
        {
            "none" or "" or "passthrough" => image,
            "canny" => CannyEdges.Detect(image, low ?? 100, high ?? 200),
            "scribble" or "invert" => SketchOps.Scribble(image, (int)Math.Round(low ?? 127)),
            "lineart" => SketchOps.Lineart(image),
            "model" or "depth" => (model ?? throw new InvalidRequestException("module", $"Preprocessor module '{module}' needs an ONNX preprocessor model (e.g. Depth-Anything-small).")).Run(image, cancellationToken).Value,
            _ => throw new InvalidRequestException("module", $"Unknown ControlNet preprocessor module '{module}'; known: {string.Join(", ", Modules)}."),
        };
    }
}

namespace TurboGen.Runtime;

/// <summary>
/// A component's result with the time its ONNX Runtime run took. Components return it instead of keeping a "last run"
/// time, so concurrent requests on one model each get their own figure.
/// </summary>
/// <param name="Value">The result.</param>
/// <param name="OnnxMilliseconds">Milliseconds spent inside ONNX Runtime for this result.</param>
public readonly record struct Timed<T>(T Value, double OnnxMilliseconds);

using System.Reflection;

namespace TurboGen.Cli;

/// <summary>
/// Which ONNX Runtime build this turbogen carries: <c>cpu</c> (tool TurboGen.Cli, Microsoft.ML.OnnxRuntime), <c>cuda</c>
/// (TurboGen.Cli.Cuda, Microsoft.ML.OnnxRuntime.Gpu.Linux) or <c>directml</c> (TurboGen.Cli.DirectML,
/// Microsoft.ML.OnnxRuntime.DirectML). Set at build time by the flavour project (src/TurboGen.Cli/TurboGen.Cli.props).
/// </summary>
internal static class Flavour
{
    /// <summary>"cpu", "cuda" or "directml".</summary>
    public static string Name { get; } = Metadata("TurboGenFlavour") ?? "cpu";

    /// <summary>The NuGet package of the native ONNX Runtime library this build ships.</summary>
    public static string OnnxRuntimePackage { get; } = Metadata("OnnxRuntimePackage") ?? "Microsoft.ML.OnnxRuntime";

    /// <summary>The tool package a user installs to get this flavour.</summary>
    public static string ToolPackage => Name switch
    {
        "cuda" => "TurboGen.Cli.Cuda",
        "directml" => "TurboGen.Cli.DirectML",
        _ => "TurboGen.Cli",
    };

    /// <summary>The execution provider <c>--provider</c> defaults to: the one this flavour was installed for.</summary>
    public static string DefaultProvider => Name is "cuda" or "directml" ? Name : "cpu";

    /// <summary>turbogen's version (the package version).</summary>
    public static string Version { get; } =
        typeof(Flavour).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    private static string? Metadata(string key) =>
        typeof(Flavour).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value is { Length: > 0 } value ? value : null;
}

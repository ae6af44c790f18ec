using TurboGen.Storage;

namespace TurboGen.Building;

/// <summary>
/// Writes any loadable model as an Optimum-layout ONNX folder that the engine and other ONNX tools read (standard ONNX
/// operators only, opset 17, weights in <c>model.onnx_data</c>): a safetensors checkpoint is built with
/// <see cref="OnnxModelBuilder"/>, an ONNX folder is copied file by file (symlinks are followed, so a Hub cache snapshot
/// becomes a self-contained folder). The output folder must not exist or be empty, and appears only when complete.
/// </summary>
public static class ModelConverter
{
    /// <summary>
    /// Writes <paramref name="source"/> (a diffusers folder, a safetensors checkpoint or an ONNX folder) as an ONNX folder at
    /// <paramref name="outputDir"/>. Throws <see cref="InvalidRequestException"/> when the output exists and is not empty,
    /// <see cref="ModelLoadException"/> when the source cannot be read.
    /// </summary>
    public static void Convert(string source, string outputDir, ModelResolveOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDir);
        options ??= new ModelResolveOptions();
        source = Path.GetFullPath(source);
        outputDir = Path.GetFullPath(outputDir);
        if (File.Exists(outputDir) || (Directory.Exists(outputDir) && Directory.EnumerateFileSystemEntries(outputDir).Any()))
        {
            throw new InvalidRequestException("output", $"The output folder {outputDir} already exists and is not empty; choose a new folder.");
        }
        if (!options.IgnoreOnnxExport && Directory.Exists(source) && ModelResolver.IsOnnxFolder(source))
        {
            if (!AtomicDirectory.Create(outputDir, temp => CopyTree(source, temp, options.Progress, cancellationToken)))
            {
                throw new InvalidRequestException("output", $"The output folder {outputDir} was created by someone else while copying.");
            }
            return;
        }
        using var components = ModelResolver.OpenCheckpoint(source, options);
        OnnxModelBuilder.Build(components, outputDir, options.Progress, cancellationToken, options.Precision);
    }

    private static void CopyTree(string source, string target, IProgress<string>? progress, CancellationToken ct)
    {
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            string relative = Path.GetRelativePath(source, file);
            string destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            progress?.Report($"copying {relative}");
            File.Copy(file, destination);
        }
    }
}

using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using TurboGen.Checkpoints;
using TurboGen.Graphs;
using TurboGen.Storage;

namespace TurboGen.Building;

/// <summary>
/// The built-model cache: a checkpoint is built into ONNX once, under
/// <c>&lt;cache root&gt;/built/&lt;ContentHash&gt;-b&lt;BuilderVersion&gt;/</c> (root: <see cref="TurboGenCache.Root"/>; float16 builds
/// add <c>-fp16</c>), and every later start with the same checkpoint content, builder version and precision uses that folder without building. A folder there is complete
/// by construction (it only appears through an atomic rename, see <see cref="OnnxModelBuilder"/>); one whose files no longer match the
/// list in its build-info file (<see cref="BuildManifest"/>: a file missing, truncated or changed) is discarded and rebuilt. Temporary
/// folders of builds whose process was killed are removed by the next build of the same key (<see cref="AtomicDirectory"/>). Builds of the same checkpoint are serialised
/// within the process; across processes the first rename wins and the other build is discarded.
/// </summary>
public static partial class BuiltModelCache
{
    /// <summary>The builder version in the cache key (<see cref="OnnxModelBuilder.BuilderVersion"/>).</summary>
    public const int BuilderVersion = OnnxModelBuilder.BuilderVersion;

    private static readonly ConcurrentDictionary<string, object> Locks = new(StringComparer.Ordinal);

    /// <summary>Where the build of <paramref name="components"/> lives (whether or not it exists yet).</summary>
    public static string PathFor(CheckpointComponents components, string? cacheRoot = null, BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null,
        bool controlNetResiduals = false) =>
        PathFor(components.ContentHash, cacheRoot, precision, kernels, controlNetResiduals);

    /// <summary>
    /// Where the build for a content hash lives: <c>built/&lt;hash&gt;-b&lt;BuilderVersion&gt;</c>, plus <c>-fp16</c> for a float16 build
    /// and a <c>-fused</c> / <c>-int8</c> suffix for graphs built with other <see cref="GraphKernels"/>, and <c>-cn</c> when the UNet
    /// takes ControlNet residuals (<see cref="Graphs.Architectures.Unet.UnetBuildOptions.ControlNetResiduals"/>).
    /// </summary>
    public static string PathFor(string contentHash, string? cacheRoot = null, BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null,
        bool controlNetResiduals = false) =>
        Path.Combine(TurboGenCache.BuiltDir(cacheRoot), $"{SafeKey(contentHash)}-b{BuilderVersion}{PrecisionSuffix(precision)}{KernelSuffix(kernels)}{(controlNetResiduals ? "-cn" : "")}");

    /// <summary>"" for float32 (the folder names of float32 builds predate precisions), "-fp16" for float16.</summary>
    internal static string PrecisionSuffix(BuildPrecision precision) =>
        precision == BuildPrecision.Float32 ? "" : "-" + precision.ShortName();

    internal static string KernelSuffix(GraphKernels? kernels) => kernels is null || kernels.IsStandard ? "" : "-" + kernels.Name;

    /// <summary>True when a complete build is in the cache.</summary>
    public static bool IsBuilt(CheckpointComponents components, string? cacheRoot = null, BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null,
        bool controlNetResiduals = false) =>
        IsComplete(PathFor(components, cacheRoot, precision, kernels, controlNetResiduals));

    /// <summary>
    /// The ONNX folder for <paramref name="components"/>: returned at once when already built, else built first
    /// (<paramref name="progress"/> then receives the builder's stages; on a hit it receives one "cached" line), in <paramref name="precision"/>.
    /// </summary>
    public static string GetOrBuild(CheckpointComponents components, string? cacheRoot = null, IProgress<string>? progress = null,
        CancellationToken cancellationToken = default, BuildPrecision precision = BuildPrecision.Float32, GraphKernels? kernels = null,
        bool controlNetResiduals = false)
    {
        ArgumentNullException.ThrowIfNull(components);
        string target = PathFor(components, cacheRoot, precision, kernels, controlNetResiduals);
        lock (Locks.GetOrAdd(target, _ => new object()))
        {
            if (IsComplete(target))
            {
                progress?.Report($"using the cached build {target}");
                return target;
            }
            if (Directory.Exists(target))
            {
                progress?.Report($"discarding the damaged build {target}: {Damage(target)}");
                Directory.Delete(target, recursive: true);
            }
            progress?.Report($"building {components.Source} into {target}");
            bool created = AtomicDirectory.Create(target, temp => OnnxModelBuilder.WriteModel(components, temp, progress, cancellationToken, precision, kernels, controlNetResiduals));
            if (!created && !IsComplete(target))
            {
                throw new ModelLoadException(target, $"Another process left an incomplete build at {target}; delete it and retry.");
            }
            return target;
        }
    }

    /// <summary>Runs <paramref name="build"/> into the cache folder named <paramref name="key"/> unless it is already there (used for other built artefacts such as tiny VAEs).</summary>
    internal static string GetOrCreate(string key, string? cacheRoot, Func<string, bool> isComplete, Action<string> build, IProgress<string>? progress)
    {
        string target = Path.Combine(TurboGenCache.BuiltDir(cacheRoot), $"{SafeKey(key)}-b{BuilderVersion}");
        lock (Locks.GetOrAdd(target, _ => new object()))
        {
            if (isComplete(target))
            {
                progress?.Report($"using the cached build {target}");
                return target;
            }
            if (Directory.Exists(target))
            {
                progress?.Report($"discarding the damaged build {target}: {BuildManifest.Verify(target) ?? "incomplete"}");
                AtomicDirectory.TryDelete(target);
            }
            progress?.Report($"building into {target}");
            if (!AtomicDirectory.Create(target, build) && !isComplete(target))
            {
                throw new ModelLoadException(target, $"Another process left an incomplete build at {target}; delete it and retry.");
            }
            return target;
        }
    }

    /// <summary>Complete: the folder has its UNet graph and build-info file, and every file the build listed is there unchanged (<see cref="BuildManifest"/>).</summary>
    private static bool IsComplete(string dir) =>
        File.Exists(Path.Combine(dir, "unet", "model.onnx")) && BuildManifest.Verify(dir) is null;

    private static string Damage(string dir) =>
        !File.Exists(Path.Combine(dir, "unet", "model.onnx")) ? "unet/model.onnx is missing" : BuildManifest.Verify(dir) ?? "incomplete";

    /// <summary>The key as a folder name: itself when it is short and plain (letters, digits, '-', '_'), else its SHA-256.</summary>
    private static string SafeKey(string key) =>
        key.Length is > 0 and <= 96 && PlainName().IsMatch(key) ? key : FileContentId.HashText(key);

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex PlainName();
}

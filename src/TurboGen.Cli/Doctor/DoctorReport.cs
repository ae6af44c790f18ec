using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Hub;
using TurboGen.Runtime;
using TurboGen.Storage;

namespace TurboGen.Cli.Doctor;

/// <summary>What <c>turbogen doctor</c> found (also its <c>--json</c> object, snake_case).</summary>
internal sealed record DoctorReport(
    string Version,
    BuildReport Build,
    string? OnnxRuntimeVersion,
    string? OnnxRuntimeError,
    IReadOnlyList<ProviderReport> Providers,
    SystemReport System,
    CpuReport Cpu,
    IReadOnlyList<CacheFolderReport> Caches,
    DefaultModelReport DefaultModel)
{
    /// <summary>Gathers the report. Never throws for a machine's state: what cannot be read is reported as such.</summary>
    public static DoctorReport Collect()
    {
        var build = new BuildReport(Flavour.Name, Flavour.ToolPackage, Flavour.OnnxRuntimePackage, Flavour.DefaultProvider);
        string? version = null, error = null;
        IReadOnlyList<string> available = [];
        try
        {
            var env = OrtEnv.Instance();
            version = env.GetVersionString();
            available = env.GetAvailableProviders();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or OnnxRuntimeException)
        {
            error = (e.InnerException ?? e).Message.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        }
        var providers = error is null ? RuntimeOptions.KnownProviders.Select(p => Probe(p, available)).ToList() : [];

        string? cpuinfo = CpuFeatures.ReadCpuinfo();
        var cpu = new CpuReport(CpuFeatures.ModelName(cpuinfo), Hardware.PhysicalCores, Environment.ProcessorCount,
            CpuFeatures.Detect(CpuFeatures.Flags(cpuinfo)));
        var system = new SystemReport(RuntimeInformation.OSDescription, RuntimeInformation.RuntimeIdentifier,
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(), RuntimeInformation.FrameworkDescription);

        var hub = HubOptions.FromEnvironment();
        var caches = new List<CacheFolderReport>
        {
            CacheFolder("huggingface", hub.CacheDir, "HF_HUB_CACHE, HF_HOME"),
            CacheFolder("turbogen", TurboGenCache.Root(), TurboGenCache.EnvironmentVariable),
        };
        return new DoctorReport(Flavour.Version, build, version, error, providers, system, cpu, caches, FindDefaultModel(hub.CacheDir));
    }

    /// <summary>ONNX Runtime's name of each execution provider turbogen knows.</summary>
    internal static string OrtName(string provider) => provider switch
    {
        "cpu" => "CPUExecutionProvider",
        "cuda" => "CUDAExecutionProvider",
        "tensorrt" => "TensorrtExecutionProvider",
        "directml" => "DmlExecutionProvider",
        "coreml" => "CoreMLExecutionProvider",
        _ => provider,
    };

    /// <summary>In the build (OrtEnv's list) and, if so, whether session options with it can be made (its libraries load).</summary>
    private static ProviderReport Probe(string provider, IReadOnlyList<string> available)
    {
        string ortName = OrtName(provider);
        if (!available.Contains(ortName))
        {
            return new ProviderReport(provider, ortName, InBuild: false, Loads: false, Problem: null);
        }
        try
        {
            SessionFactory.CreateOptions(new RuntimeOptions { Provider = provider, Threads = 1 }).Dispose();
            return new ProviderReport(provider, ortName, InBuild: true, Loads: true, Problem: null);
        }
        catch (ExecutionProviderUnavailableException e)
        {
            return new ProviderReport(provider, ortName, InBuild: true, Loads: false,
                Problem: ProviderLibraries.LoadFailure(provider) ?? e.InnerException?.Message.Trim() ?? e.Message);
        }
    }

    private static CacheFolderReport CacheFolder(string name, string path, string variables)
    {
        bool exists = Directory.Exists(path);
        long? size = exists ? FolderBytes(path) : null;
        return new CacheFolderReport(name, path, variables, exists, size, DiskSpace.FreeBytes(path));
    }

    /// <summary>Bytes of the regular files under a folder (symbolic links, such as Hub snapshots' links to blobs, are not followed).</summary>
    private static long? FolderBytes(string path)
    {
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
            return new DirectoryInfo(path).EnumerateFiles("*", options).Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether <see cref="ModelLocator.DefaultModel"/> is in the Hub cache as <c>generate</c> with this flavour's default provider
    /// would use it without a download: a complete snapshot of a variant <see cref="HubVariants.Choose"/> accepts for it.
    /// </summary>
    private static DefaultModelReport FindDefaultModel(string cacheDir)
    {
        var cache = new HubCache(cacheDir);
        var needs = ModelLocator.Needs(Flavour.DefaultProvider, loras: false, kernels: null);
        IReadOnlyList<HubRepoFile> Select(IReadOnlyList<HubRepoFile> files) =>
            HubVariants.Choose(HubVariants.Candidates(files), needs, f => cache.HasBlob(ModelLocator.DefaultModel, f))?.Files ?? [];
        string? snapshot = cache.TryGetSnapshot(ModelLocator.DefaultModel, Select);
        var onDisk = cache.ListModels().FirstOrDefault(m => m.RepoId == ModelLocator.DefaultModel);
        return new DefaultModelReport(ModelLocator.DefaultModel, snapshot is not null, snapshot, onDisk?.SizeOnDisk);
    }
}

/// <summary>Which turbogen this is: its flavour, the tool package it comes from and its ONNX Runtime package.</summary>
internal sealed record BuildReport(string Flavour, string ToolPackage, string OnnxRuntimePackage, string DefaultProvider);

/// <summary>One execution provider: in this ONNX Runtime build, and whether its libraries load here (a GPU itself is only used at session creation).</summary>
internal sealed record ProviderReport(string Name, string OrtName, bool InBuild, bool Loads, string? Problem);

internal sealed record SystemReport(string Os, string RuntimeIdentifier, string Architecture, string Dotnet);

internal sealed record CpuReport(string? Model, int PhysicalCores, int LogicalProcessors, IReadOnlyList<CpuFeature> Features);

/// <summary>A cache folder, the variables that move it, its size (null when absent) and the free space of its volume.</summary>
internal sealed record CacheFolderReport(string Name, string Path, string Variables, bool Exists, long? SizeBytes, long? FreeBytes);

/// <summary>The default model: complete in the Hub cache (<see cref="Path"/> = its snapshot), and the bytes of it on disk (also partial).</summary>
internal sealed record DefaultModelReport(string Id, bool Cached, string? Path, long? SizeBytes);

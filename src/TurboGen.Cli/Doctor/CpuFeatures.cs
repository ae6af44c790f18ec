using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace TurboGen.Cli.Doctor;

/// <summary>
/// One instruction-set feature that matters to ONNX Runtime's CPU kernels. <see cref="Supported"/> is null when nothing
/// could tell (for example AMX outside Linux); <see cref="Sources"/> says what was asked: "dotnet" (the runtime's
/// hardware intrinsics, which honour DOTNET_Enable* switches) and/or "cpuinfo" (the kernel's /proc/cpuinfo flags).
/// </summary>
internal sealed record CpuFeature(string Name, bool? Supported, IReadOnlyList<string> Sources);

/// <summary>
/// The CPU features <c>turbogen doctor</c> reports: AVX2, AVX-512, the 8-bit dot products (AVX-512 VNNI, AVX-VNNI) that
/// the int8 kernels use, BF16 and AMX on x86; NEON, dot product, I8MM and SVE on Arm.
/// </summary>
internal static class CpuFeatures
{
    /// <summary>The CPU's model name where the OS tells (Linux /proc/cpuinfo, Windows PROCESSOR_IDENTIFIER), else null.</summary>
    public static string? ModelName(string? cpuinfo)
    {
        if (cpuinfo is not null)
        {
            foreach (string key in new[] { "model name", "Model", "Hardware" })
            {
                if (Field(cpuinfo, key) is { Length: > 0 } value) return value;
            }
        }
        return OperatingSystem.IsWindows() ? Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") : null;
    }

    /// <summary>The text of /proc/cpuinfo on Linux, else null.</summary>
    public static string? ReadCpuinfo()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The first CPU's feature flags in /proc/cpuinfo ("flags" on x86, "Features" on Arm); null without cpuinfo.</summary>
    public static IReadOnlySet<string>? Flags(string? cpuinfo)
    {
        if (cpuinfo is null) return null;
        string? line = Field(cpuinfo, "flags") ?? Field(cpuinfo, "Features");
        return line is null ? null : line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The features for this process's architecture (an empty list for others).</summary>
    public static IReadOnlyList<CpuFeature> Detect(IReadOnlySet<string>? flags) => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 =>
        [
            Feature("AVX2", Avx2.IsSupported && Fma.IsSupported, flags, "avx2"),
            Feature("AVX-512", Avx512F.IsSupported && Avx512BW.IsSupported, flags, "avx512f"),
            Feature("AVX-512 VNNI", null, flags, "avx512_vnni"),
            Feature("AVX-VNNI", AvxVnni.IsSupported, flags, "avx_vnni"),
            Feature("AVX-512 BF16", null, flags, "avx512_bf16"),
            Feature("AMX-INT8", null, flags, "amx_int8"),
            Feature("AMX-BF16", null, flags, "amx_bf16"),
        ],
        Architecture.Arm64 =>
        [
            Feature("NEON", AdvSimd.IsSupported, flags, "asimd"),
            Feature("Dot product", Dp.IsSupported, flags, "asimddp"),
            Feature("I8MM", null, flags, "i8mm"),
            Feature("BF16", null, flags, "bf16"),
            Feature("SVE", null, flags, "sve"), // System.Runtime.Intrinsics.Arm.Sve is still experimental (SYSLIB5003)
        ],
        _ => [],
    };

    /// <summary>Supported when either source says so; false when a source was asked and none did; null when none could be asked.</summary>
    internal static CpuFeature Feature(string name, bool? dotnet, IReadOnlySet<string>? flags, string flag)
    {
        bool? cpuinfo = flags?.Contains(flag);
        var sources = new List<string>();
        if (dotnet is not null) sources.Add("dotnet");
        if (cpuinfo is not null) sources.Add("cpuinfo");
        bool? supported = dotnet == true || cpuinfo == true ? true : sources.Count > 0 ? false : null;
        return new CpuFeature(name, supported, sources);
    }

    private static string? Field(string cpuinfo, string key)
    {
        foreach (string line in cpuinfo.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim() == key) return line[(colon + 1)..].Trim();
        }
        return null;
    }
}

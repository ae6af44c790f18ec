using System.Globalization;

namespace TurboGen.Cli;

/// <summary>Human-readable sizes and durations for the CLI's output.</summary>
internal static class Units
{
    /// <summary>See <see cref="ByteSize.Format"/> (the engine's messages use the same units).</summary>
    public static string Bytes(long bytes) => ByteSize.Format(bytes);

    public static string Milliseconds(double ms) =>
        ms >= 10_000 ? (ms / 1000).ToString("0.0", CultureInfo.InvariantCulture) + " s"
        : ms.ToString(ms >= 100 ? "0" : ms >= 1 ? "0.0" : "0.00", CultureInfo.InvariantCulture) + " ms";
}

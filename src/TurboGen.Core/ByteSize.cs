using System.Globalization;

namespace TurboGen;

/// <summary>
/// The one way TurboGen writes a byte count for people: decimal units (kB = 1000 B, as the Hugging Face Hub shows file sizes),
/// three significant digits ("6.94 GB", "13.9 GB", "246 MB"). Used by the CLI's output and the engine's messages alike.
/// </summary>
public static class ByteSize
{
    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB"];

    /// <summary>"0 B", "999 B", "1.00 KB", "6.94 GB", "13.9 GB", "246 MB".</summary>
    public static string Format(long bytes)
    {
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 999.5 && unit < Units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0
            ? $"{bytes} B"
            : value.ToString(Math.Abs(value) < 9.995 ? "0.00" : Math.Abs(value) < 99.95 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }
}

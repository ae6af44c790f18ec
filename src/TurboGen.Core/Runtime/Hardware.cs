namespace TurboGen.Runtime;

/// <summary>Machine facts used for defaults.</summary>
public static class Hardware
{
    private static readonly Lazy<int> Physical = new(CountPhysicalCores);

    /// <summary>Physical cores (SMT siblings counted once) where the OS tells; otherwise the logical processor count.</summary>
    public static int PhysicalCores => Physical.Value;

    private static int CountPhysicalCores()
    {
        try
        {
            if (OperatingSystem.IsLinux() && Directory.Exists("/sys/devices/system/cpu"))
            {
                var siblings = new HashSet<string>();
                foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
                {
                    string f = Path.Combine(dir, "topology", "thread_siblings_list");
                    if (File.Exists(f)) siblings.Add(File.ReadAllText(f).Trim());
                }
                if (siblings.Count > 0) return Math.Min(siblings.Count, Environment.ProcessorCount);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Environment.ProcessorCount;
    }
}

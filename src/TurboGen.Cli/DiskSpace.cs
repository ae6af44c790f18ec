namespace TurboGen.Cli;

/// <summary>Free space of the drive a folder is on, for the CLI's messages.</summary>
internal static class DiskSpace
{
    /// <summary>Free bytes for the current user on the drive holding <paramref name="folder"/> (or its nearest existing parent); null when unknown.</summary>
    public static long? FreeBytes(string folder)
    {
        try
        {
            var dir = new DirectoryInfo(Path.GetFullPath(folder));
            while (dir is { Exists: false })
            {
                dir = dir.Parent;
            }
            return dir is null ? null : new DriveInfo(dir.FullName).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>"120 GB free in /home/me/.cache/huggingface/hub" (or "free space unknown in …").</summary>
    public static string Describe(string folder) =>
        FreeBytes(folder) is { } free ? $"{Units.Bytes(free)} free in {folder}" : $"free space unknown in {folder}";
}

namespace TurboGen.Storage;

/// <summary>
/// Creates a folder so that it is never seen half-written: the content is written into a hidden sibling
/// (<c>.name.tmp-PID-xxxxxxxx</c>, same file system) which is renamed to the target at the end, and deleted on failure or cancellation.
/// A process killed while writing leaves its sibling behind; the next <see cref="Create"/> of the same target deletes the siblings
/// whose process is gone (a sibling of a live process, e.g. a concurrent build, is left alone).
/// </summary>
internal static class AtomicDirectory
{
    private const string TempMarker = ".tmp-";

    /// <summary>
    /// Fills a temporary sibling of <paramref name="target"/> with <paramref name="fill"/> and renames it to <paramref name="target"/>.
    /// An empty existing target is replaced. Returns false (and discards the new content) when a non-empty target appeared
    /// meanwhile, e.g. another process finished the same build first.
    /// </summary>
    public static bool Create(string target, Action<string> fill)
    {
        target = Path.GetFullPath(target.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        RemoveAbandoned(target);
        string temp = Path.Combine(parent, $".{Path.GetFileName(target)}{TempMarker}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            if (Directory.Exists(target) && !Directory.EnumerateFileSystemEntries(target).Any())
            {
                Directory.Delete(target);
            }
            if (Directory.Exists(target))
            {
                TryDelete(temp);
                return false;
            }
            try
            {
                Directory.Move(temp, target);
            }
            catch (IOException) when (Directory.Exists(target))
            {
                TryDelete(temp);
                return false;
            }
            return true;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary siblings of <paramref name="target"/> left by processes that no longer run (killed during a build or
    /// copy). Returns how many were deleted. Siblings without a process id (older versions) are deleted too when older than a day.
    /// </summary>
    public static int RemoveAbandoned(string target)
    {
        target = Path.GetFullPath(target.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        string parent = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(parent))
        {
            return 0;
        }
        string prefix = $".{Path.GetFileName(target)}{TempMarker}";
        int removed = 0;
        foreach (string dir in Directory.EnumerateDirectories(parent, prefix + "*"))
        {
            string rest = Path.GetFileName(dir)[prefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            bool abandoned = dash > 0 && int.TryParse(rest[..dash], out int pid)
                ? !IsRunning(pid)
                : Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddDays(-1);
            if (abandoned)
            {
                TryDelete(dir);
                removed += Directory.Exists(dir) ? 0 : 1;
            }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Deletes a folder tree, ignoring failures (best effort clean-up).</summary>
    public static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

namespace TurboGen.Storage;

/// <summary>
/// Creates a folder so that it is never seen half-written: the content is written into a hidden sibling
/// (<c>.name.tmp-xxxxxxxx</c>, same file system) which is renamed to the target at the end, and deleted on failure or cancellation.
/// </summary>
internal static class AtomicDirectory
{
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
        string temp = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid().ToString("N")[..8]}");
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

namespace TurboGen.Testing;

/// <summary>Where the repository, the shared reference material (../shared next to the repo) and scratch folders are.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "TurboGen.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (TurboGen.slnx) above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => Root.Value;

    /// <summary>The shared reference folder: $TURBOGEN_SHARED, else ../shared next to the repository.</summary>
    public static string Shared
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("TURBOGEN_SHARED");
            string path = !string.IsNullOrEmpty(env) ? env : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"Shared reference folder not found at {path} (set TURBOGEN_SHARED).");
            }
            return path;
        }
    }

    public static string Golden => Path.Combine(Shared, "golden");

    public static string GoldenCase(string name) => Path.Combine(Golden, name);

    /// <summary>The real CLIP BPE vocabulary (openai/CLIP bpe_simple_vocab_16e6.txt.gz), read from ../shared only.</summary>
    public static string ClipBpeVocabGz => Path.Combine(Golden, "tokenizer", "bpe_simple_vocab_16e6.txt.gz");

    /// <summary>A fresh empty scratch directory under the system temp folder.</summary>
    public static string NewTempDir(string prefix = "turbogen-test")
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        DeleteAtExit(path);
        return path;
    }

    /// <summary>Deletes <paramref name="path"/> (if it still exists) when the test process exits, so test runs leave no temp folders behind.</summary>
    public static void DeleteAtExit(string path)
    {
        lock (TempDirs)
        {
            if (TempDirs.Count == 0)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    string[] dirs;
                    lock (TempDirs) dirs = [.. TempDirs];
                    foreach (string dir in dirs)
                    {
                        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
                        catch (IOException) { } // still in use (a child process): leave it
                        catch (UnauthorizedAccessException) { }
                    }
                };
            }
            TempDirs.Add(path);
        }
    }

    private static readonly List<string> TempDirs = [];
}

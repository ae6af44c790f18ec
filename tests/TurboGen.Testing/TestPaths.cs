namespace TurboGen.Testing;

/// <summary>Where the repository, its reference data (tests/data) and scratch folders are.</summary>
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

    /// <summary>
    /// The reference data kept in the repository (tests/data/golden): inputs and expected outputs computed by the Python
    /// reference implementations (diffusers, openai/CLIP) on tiny seeded models, one folder per case with a case.json.
    /// </summary>
    public static string Golden => Path.Combine(RepoRoot, "tests", "data", "golden");

    /// <summary>One golden case folder; throws naming the folder when it is missing.</summary>
    public static string GoldenCase(string name)
    {
        string path = Path.Combine(Golden, name);
        if (!Directory.Exists(path))
        {
            throw new DirectoryNotFoundException($"Golden case folder not found: {path}");
        }
        return path;
    }

    /// <summary>The real CLIP BPE vocabulary (openai/CLIP bpe_simple_vocab_16e6.txt.gz, MIT), kept with the golden data.</summary>
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

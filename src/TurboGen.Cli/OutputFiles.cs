using System.Globalization;

namespace TurboGen.Cli;

/// <summary>
/// Where <c>generate</c> writes: <c>-o out.png</c> (several images: out-0.png, out-1.png, …) or <c>--outdir DIR</c>
/// (default <c>outputs/</c>) with names <c>{yyyyMMdd-HHmmss}-{seed}.png</c> (the time in UTC), never overwriting an existing file there.
/// </summary>
internal static class OutputFiles
{
    public const string DefaultFolder = "outputs";

    /// <summary>Checks the options before anything runs.</summary>
    public static void Validate(string? output, string? outdir)
    {
        if (output is not null && outdir is not null)
        {
            throw new InvalidRequestException("--output", "use either -o/--output FILE or --outdir DIR, not both.");
        }
        if (output is not null && !output.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidRequestException("--output", $"'{output}' must end in .png (images are saved as PNG with their generation parameters).");
        }
        if (output is not null && Directory.Exists(output))
        {
            throw new InvalidRequestException("--output", $"'{output}' is a folder; use --outdir for a folder.");
        }
    }

    /// <summary>One path per image (absolute), in seed order.</summary>
    public static IReadOnlyList<string> Paths(string? output, string? outdir, IReadOnlyList<long> seeds, DateTime now)
    {
        if (output is not null)
        {
            string full = Path.GetFullPath(output);
            if (seeds.Count == 1)
            {
                return [full];
            }
            string stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
            string extension = Path.GetExtension(full);
            return seeds.Select((_, i) => $"{stem}-{i}{extension}").ToList();
        }
        string folder = Path.GetFullPath(outdir ?? DefaultFolder);
        string stamp = now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var paths = new List<string>();
        foreach (long seed in seeds)
        {
            string path = Path.Combine(folder, $"{stamp}-{seed}.png");
            for (int n = 1; File.Exists(path) || paths.Contains(path); n++)
            {
                path = Path.Combine(folder, $"{stamp}-{seed}-{n}.png");
            }
            paths.Add(path);
        }
        return paths;
    }
}

using System.Globalization;
using TurboGen.Benchmarking;
using TurboGen.Weights;

namespace TurboGen.Cli.Tests;

/// <summary>
/// The full-size bounded-memory check of <c>turbogen merge</c> (opt-in: TURBOGEN_SLOW_TESTS=1; ~11 GB of disk in the temp folder,
/// minutes): an add-difference of three random-weight SD-Turbo single files (2.6 GB each, F16, the published key names and
/// shapes) through the real process, whose reported peak working set must stay far below one input's size.
/// </summary>
public sealed class MergeFullSizeTests
{
    [FullSizeFact]
    [Trait("Category", "Slow")]
    public async Task AddDifference_OfFullSizeCheckpoints_StaysInBoundedMemory()
    {
        string work = Directory.CreateTempSubdirectory("turbogen-merge-full-").FullName;
        try
        {
            foreach (var (name, seed) in new[] { ("a", 1), ("b", 2), ("c", 3) })
            {
                RandomCheckpoint.WriteSingleFile(Path.Combine(work, name + ".safetensors"), ModelFamily.Sd, seed);
            }
            long inputBytes = new FileInfo(Path.Combine(work, "a.safetensors")).Length;
            using var process = CliProcess.Start(new Dictionary<string, string>(), work, ["merge", "a.safetensors", "b.safetensors", "--base", "c.safetensors", "-o", "m.safetensors"],
                out var stdout, out var stderr);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(30));
            var run = new CliResult(process.ExitCode, stdout.ToString(), stderr.ToString());
            Assert.True(run.ExitCode == 0, run.ToString());
            var line = run.Stdout.Split('\n').Single(l => l.StartsWith("Peak working set: ", StringComparison.Ordinal));
            long peakMiB = long.Parse(line["Peak working set: ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.True(peakMiB < 256, $"peak working set {peakMiB} MiB for inputs of {inputBytes >> 20} MiB each:\n{run}");
            using var m = SafetensorsFile.Open(Path.Combine(work, "m.safetensors"));
            using var a = SafetensorsFile.Open(Path.Combine(work, "a.safetensors"));
            Assert.Equal(a.Tensors.Count, m.Tensors.Count);
            Console.WriteLine($"turbogen merge (add-difference, 3 × {inputBytes >> 20} MiB SD-Turbo F16): {run.Stdout.Trim()}");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>A fact that needs minutes and gigabytes: skipped unless TURBOGEN_SLOW_TESTS=1.</summary>
public sealed class FullSizeFactAttribute : FactAttribute
{
    public FullSizeFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TURBOGEN_SLOW_TESTS") != "1") Skip = "Slow full-size test: set TURBOGEN_SLOW_TESTS=1 to run it.";
    }
}

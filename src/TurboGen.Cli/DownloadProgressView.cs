using System.Diagnostics;
using Spectre.Console;
using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>
/// Shows <see cref="HubDownloadProgress"/> on stderr. Before anything is transferred (at the client's first report, which comes
/// before its free-space check) the <c>announce</c> lines are printed: what is downloaded, how much, and the free space. Then, on a
/// terminal, Spectre.Console progress bars (one per file being transferred — bytes, speed, ETA — and a total); when stderr is
/// redirected, one more line when the transfer ends (no redraws in logs).
/// </summary>
internal static class DownloadProgressView
{
    public static async Task<T> RunAsync<T>(Terminal terminal, bool enabled, string title, Func<HubDownloadProgress, IEnumerable<string>> announce,
        Func<IProgress<HubDownloadProgress>?, Task<T>> work)
    {
        if (!enabled)
        {
            return await work(null).ConfigureAwait(false);
        }
        if (!terminal.InteractiveErr)
        {
            var lines = new LineProgress(terminal.Error, title, announce);
            T result = await work(lines).ConfigureAwait(false);
            lines.Finish();
            return result;
        }
        return await terminal.Err.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn { Alignment = Justify.Left },
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bars = new BarsProgress(context, title, terminal.Err, announce);
                T result = await work(bars).ConfigureAwait(false);
                bars.Finish();
                return result;
            }).ConfigureAwait(false);
    }

    /// <summary>The announcement lines above, then progress bars: a total row plus one row per file in flight (hidden once complete).</summary>
    private sealed class BarsProgress(ProgressContext context, string title, IAnsiConsole console, Func<HubDownloadProgress, IEnumerable<string>> announce)
        : IProgress<HubDownloadProgress>
    {
        private readonly object _lock = new();
        private readonly Dictionary<string, ProgressTask> _files = new(StringComparer.Ordinal);
        private ProgressTask? _total;

        public void Report(HubDownloadProgress value)
        {
            lock (_lock)
            {
                if (_total is null)
                {
                    foreach (string line in announce(value))
                    {
                        console.WriteLine(line); // printed above the live bars
                    }
                }
                _total ??= context.AddTask(Markup.Escape(title), maxValue: Math.Max(1, value.TotalSize));
                _total.Description = $"{Markup.Escape(title)} [grey]({value.FilesCompleted}/{value.FileCount} files)[/]";
                _total.Value = Math.Min(value.TotalBytes, _total.MaxValue);
                if (value.Path.Length == 0)
                {
                    return; // the announcement: no file has started yet
                }
                if (!_files.TryGetValue(value.Path, out var file))
                {
                    file = context.AddTask("  " + Markup.Escape(value.Path), maxValue: Math.Max(1, value.FileSize));
                    file.HideWhenCompleted = true;
                    file.IsIndeterminate = value.FileSize < 0;
                    _files[value.Path] = file;
                }
                file.Value = Math.Min(value.FileBytes, file.MaxValue);
            }
        }

        public void Finish()
        {
            lock (_lock)
            {
                foreach (var task in _files.Values.Append(_total).OfType<ProgressTask>())
                {
                    task.IsIndeterminate = false;
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }
        }
    }

    /// <summary>Log lines: the announcement (what is being downloaded, how much, free space), and how much/how fast once done.</summary>
    private sealed class LineProgress(TextWriter error, string title, Func<HubDownloadProgress, IEnumerable<string>> announce) : IProgress<HubDownloadProgress>
    {
        private readonly object _lock = new();
        private readonly Stopwatch _clock = new();
        private HubDownloadProgress? _last;

        public void Report(HubDownloadProgress value)
        {
            lock (_lock)
            {
                if (_last is null)
                {
                    _clock.Start();
                    foreach (string line in announce(value))
                    {
                        error.WriteLine(line);
                    }
                }
                _last = value;
            }
        }

        public void Finish()
        {
            lock (_lock)
            {
                if (_last is { } last)
                {
                    double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
                    error.WriteLine($"Downloaded {title}: {last.FileCount} files, {Units.Bytes(last.TotalBytes)} in {seconds:0.0} s ({Units.Bytes((long)(last.TotalBytes / seconds))}/s).");
                }
            }
        }
    }
}

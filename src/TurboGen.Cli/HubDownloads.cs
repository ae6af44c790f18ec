using TurboGen.Hub;

namespace TurboGen.Cli;

/// <summary>Downloads a repository variant into the Hugging Face cache, with progress on stderr when anything is fetched.</summary>
internal static class HubDownloads
{
    public static async Task<string> DownloadAsync(HubOptions options, string repoId, string revision,
        Func<IReadOnlyList<HubRepoFile>, IReadOnlyList<HubRepoFile>> select, Terminal terminal, bool showProgress, CancellationToken ct)
    {
        using var client = new HubClient(options);
        // A complete cached snapshot is used without any request (HubClient does the same check); skip the progress display then.
        bool cached = options.Offline || (!options.CheckForUpdates && client.Cache.TryGetSnapshot($"{repoId}@{revision}", select) is not null);
        return await DownloadProgressView.RunAsync(terminal, showProgress && !cached, $"{repoId}@{revision}",
            progress => client.DownloadAsync(repoId, revision, select, progress, ct)).ConfigureAwait(false);
    }
}

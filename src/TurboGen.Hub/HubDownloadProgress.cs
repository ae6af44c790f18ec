namespace TurboGen.Hub;

/// <summary>
/// Progress of <see cref="HubClient.DownloadAsync"/>. <see cref="Path"/>/<see cref="FileBytes"/>/<see cref="FileSize"/> describe the file that
/// just advanced (resumed bytes count as done); <see cref="TotalBytes"/>/<see cref="TotalSize"/> cover every file this call has to fetch
/// (files already in the cache are not counted). Sizes are -1 when the server did not say. The first report comes before the free-space
/// check and before any transfer, with an empty <see cref="Path"/>: it announces <see cref="FileCount"/> and <see cref="TotalSize"/>.
/// </summary>
public readonly record struct HubDownloadProgress(
    string Path, long FileBytes, long FileSize, long TotalBytes, long TotalSize, int FilesCompleted, int FileCount);

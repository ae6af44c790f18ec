namespace TurboGen.Hub;

/// <summary>
/// A model repository found in the Hub cache. <see cref="Refs"/> maps revision names ("main") to commits; <see cref="Snapshots"/> lists
/// the snapshot commits; <see cref="SizeOnDisk"/> counts every blob once even when several snapshots link it (partial *.incomplete
/// downloads are reported separately in <see cref="IncompleteBytes"/>).
/// </summary>
public sealed record HubCachedModel(
    string RepoId,
    string Folder,
    IReadOnlyDictionary<string, string> Refs,
    IReadOnlyList<HubCachedSnapshot> Snapshots,
    long SizeOnDisk,
    long IncompleteBytes);

/// <summary>One snapshots/{commit} folder: how many files it holds and the refs pointing at it.</summary>
public sealed record HubCachedSnapshot(string Commit, string Folder, int FileCount, IReadOnlyList<string> Refs);

namespace TurboGen.Hub;

/// <summary>
/// One file of a Hub repository as listed by <c>/api/models/{repo}/revision/{rev}?blobs=true</c>.
/// <paramref name="Path"/> uses '/' separators; <paramref name="BlobId"/> is the git blob SHA-1 (of the LFS pointer for LFS files);
/// <paramref name="LfsSha256"/> is set for LFS files and is the ETag the cache stores the blob under.
/// </summary>
public sealed record HubRepoFile(string Path, long? Size = null, string? BlobId = null, string? LfsSha256 = null)
{
    /// <summary>True when the file is stored in Git LFS (the listing gave an LFS SHA-256).</summary>
    public bool IsLfs => LfsSha256 is not null;

    /// <summary>The cache blob name this file is expected to get (LFS SHA-256, else the git blob id), or null if unknown.</summary>
    public string? ExpectedEtag => LfsSha256 ?? BlobId;
}

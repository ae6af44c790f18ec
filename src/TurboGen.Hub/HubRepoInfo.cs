namespace TurboGen.Hub;

/// <summary>A repository at one revision: the commit the revision resolved to and every file in it.</summary>
public sealed record HubRepoInfo(string RepoId, string Revision, string Commit, IReadOnlyList<HubRepoFile> Files)
{
    /// <summary>True when the Hub marks the repository as gated (a licence must be accepted before files can be downloaded).</summary>
    public bool Gated { get; init; }
}

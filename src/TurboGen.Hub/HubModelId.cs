using System.Text.RegularExpressions;

namespace TurboGen.Hub;

/// <summary>Parses "org/name" and "org/name@revision" (revision: branch, tag, "refs/pr/N" or a 40-hex commit; default "main").</summary>
public static partial class HubModelId
{
    /// <summary>The revision used when a model id has no "@revision" part: "main".</summary>
    public const string DefaultRevision = "main";

    /// <summary>Splits a model id into repository id and revision; invalid text throws <see cref="InvalidRequestException"/>.</summary>
    public static (string RepoId, string Revision) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        int at = trimmed.IndexOf('@');
        string repoId = at < 0 ? trimmed : trimmed[..at];
        string revision = at < 0 ? DefaultRevision : trimmed[(at + 1)..];
        ValidateRepoId(repoId);
        ValidateRevision(revision);
        return (repoId, revision);
    }

    /// <summary>Same rules as huggingface_hub's validate_repo_id, but the organisation part is required.</summary>
    public static void ValidateRepoId(string repoId)
    {
        if (repoId.Length is 0 or > 96 || !RepoIdPattern().IsMatch(repoId) || repoId.Contains("--", StringComparison.Ordinal)
            || repoId.Contains("..", StringComparison.Ordinal) || repoId.EndsWith(".git", StringComparison.Ordinal))
        {
            throw new InvalidRequestException("model",
                $"'{repoId}' is not a Hugging Face model id: expected 'org/name' or 'org/name@revision' (letters, digits, '-', '_', '.'; no '--' or '..').");
        }
    }

    /// <summary>A revision is a branch, tag, PR ref or commit: non-empty, no whitespace, no '..' and no leading/trailing '/'.</summary>
    public static void ValidateRevision(string revision)
    {
        if (revision.Length == 0 || revision.Any(char.IsWhiteSpace) || revision.Contains("..", StringComparison.Ordinal)
            || revision.StartsWith('/') || revision.EndsWith('/') || revision.Contains('\\') || revision.Contains("//", StringComparison.Ordinal))
        {
            throw new InvalidRequestException("revision", $"'{revision}' is not a valid revision (a branch, tag, 'refs/pr/N' or a commit hash).");
        }
    }

    /// <summary>True for a full 40-character lowercase hexadecimal commit hash (huggingface_hub's REGEX_COMMIT_HASH).</summary>
    public static bool IsCommitHash(string revision) => CommitPattern().IsMatch(revision);

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
}

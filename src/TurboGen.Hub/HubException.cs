namespace TurboGen.Hub;

/// <summary>What went wrong while talking to the Hugging Face Hub or its local cache.</summary>
public enum HubErrorKind
{
    /// <summary>401/403: the repository is gated or private and no (or the wrong) HF_TOKEN was sent.</summary>
    Unauthorized,

    /// <summary>404: the repository, revision or file does not exist (or the selection found nothing to download).</summary>
    NotFound,

    /// <summary>HF_HUB_OFFLINE is set or the Hub cannot be reached, and the cache does not hold what was asked for.</summary>
    Offline,

    /// <summary>The connection kept failing during a transfer (after retries); the partial file is kept and the next run resumes it.</summary>
    Network,

    /// <summary>Not enough free space on the cache's drive for the files still to download.</summary>
    DiskFull,

    /// <summary>A downloaded file's SHA-256 (LFS) or git blob SHA-1 does not match its ETag, twice in a row.</summary>
    ChecksumMismatch,

    /// <summary>The server answered something unexpected (5xx, missing headers, malformed JSON, a locked cache file).</summary>
    Protocol,
}

/// <summary>A Hub download or cache operation failed; <see cref="Kind"/> says why, the message says what to do.</summary>
public sealed class HubException(HubErrorKind kind, string repoId, string message, Exception? inner = null)
    : TurboGenException(message, inner)
{
    /// <summary>Why the operation failed (not found, unauthorized, offline, network, disk full, checksum, protocol).</summary>
    public HubErrorKind Kind { get; } = kind;

    /// <summary>The repository involved ("org/name").</summary>
    public string RepoId { get; } = repoId;
}

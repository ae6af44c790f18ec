using System.Net;
using System.Net.Http.Headers;

namespace TurboGen.Hub;

/// <summary>
/// Downloads one blob into blobs/{etag}: bytes go to blobs/{etag}.incomplete (resumed with an HTTP Range request when it already
/// holds a prefix, retried on connection failures), are verified against the ETag, then renamed atomically — the final blob name
/// never holds a partial or unverified file. A checksum mismatch deletes the partial file and downloads once more before failing.
/// </summary>
internal sealed class HubBlobDownloader(HubHttp http, Func<string, long> freeBytes)
{
    public const int MaxNetworkRetries = 3;
    private const int BufferSize = 1 << 20;
    private const long ReportEveryBytes = 1 << 20;

    /// <summary>No byte for this long on an open download counts as a dropped connection (then retried/resumed).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Makes sure blobs/{<paramref name="meta"/>.Etag} exists and is verified: returns at once when it is already there, otherwise
    /// takes the blob's lock file, downloads (resuming a partial file) and renames it into place.
    /// </summary>
    /// <param name="layout">The repository's folders in the cache.</param>
    /// <param name="revision">The revision the file was resolved at (used in the download URL and in error messages).</param>
    /// <param name="path">The file's path in the repository, '/'-separated.</param>
    /// <param name="meta">The file's resolved commit, ETag (the blob name and checksum), size and download URL.</param>
    /// <param name="reportFileBytes">Called with the file's byte count so far (absolute; drops to 0 when a download restarts).</param>
    /// <param name="ct">Cancels the download; the partial file is kept for the next run to resume.</param>
    public async Task DownloadAsync(HubCacheLayout layout, string revision, string path, HubFileMetadata meta,
        Action<long> reportFileBytes, CancellationToken ct)
    {
        string blob = layout.BlobPath(meta.Etag);
        if (File.Exists(blob))
        {
            File.Delete(layout.IncompletePath(meta.Etag)); // a partial file beside a complete blob is stale
            return;
        }
        await using var blobLock = await AcquireLockAsync(layout.LockPath(meta.Etag), ct).ConfigureAwait(false);
        if (File.Exists(blob))
        {
            // Another process finished it while we waited; a partial file of ours beside it is stale.
            File.Delete(layout.IncompletePath(meta.Etag));
            return;
        }
        Directory.CreateDirectory(layout.BlobsDir);
        for (int attempt = 1; ; attempt++)
        {
            var (actual, verified) = await TransferAsync(layout, revision, path, meta, reportFileBytes, ct).ConfigureAwait(false);
            string incomplete = layout.IncompletePath(meta.Etag);
            if (verified)
            {
                File.Move(incomplete, blob, overwrite: true);
                return;
            }
            File.Delete(incomplete);
            reportFileBytes(0);
            if (attempt >= 2)
            {
                throw new HubException(HubErrorKind.ChecksumMismatch, layout.RepoId,
                    $"Checksum mismatch for {layout.RepoId}/{path} twice in a row: expected {meta.Etag}, got {actual}. The partial file was deleted; check your network/proxy or HF_ENDPOINT and try again.");
            }
        }
    }

    /// <summary>
    /// Takes the blob's lock file exclusively (FileShare.None is an flock(LOCK_EX) on Unix, the same lock Python's filelock takes), waiting
    /// while another process — TurboGen or a Python tool — downloads the same blob.
    /// </summary>
    private static async Task<FileStream> AcquireLockAsync(string lockPath, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException e) when (IsLockedByOther(e))
            {
                await Task.Delay(LockPollInterval, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Windows reports ERROR_SHARING_VIOLATION; Unix reports the flock errno EWOULDBLOCK (11 on Linux, 35 on macOS).</summary>
    private static bool IsLockedByOther(IOException e) =>
        e.HResult == unchecked((int)0x80070020) || (!OperatingSystem.IsWindows() && e.HResult == (OperatingSystem.IsMacOS() ? 35 : 11));

    private static readonly TimeSpan LockPollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Free-space check with the message the CLI shows.</summary>
    public void EnsureSpace(string repoId, string dir, long needed, string what)
    {
        if (needed <= 0)
        {
            return;
        }
        Directory.CreateDirectory(dir);
        long available = freeBytes(dir);
        if (needed > available)
        {
            throw new HubException(HubErrorKind.DiskFull, repoId,
                $"Disk full: need {ByteSize.Format(needed)} for {what}, have {ByteSize.Format(available)} free in {dir}. Free some space or point HF_HUB_CACHE / HF_HOME at a bigger drive.");
        }
    }

    private async Task<(string? Actual, bool Verified)> TransferAsync(HubCacheLayout layout, string revision, string path,
        HubFileMetadata meta, Action<long> reportFileBytes, CancellationToken ct)
    {
        string incomplete = layout.IncompletePath(meta.Etag);
        FileStream file;
        try
        {
            file = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 0);
        }
        catch (IOException e)
        {
            throw new HubException(HubErrorKind.Protocol, layout.RepoId,
                $"Cannot open {incomplete} ({e.Message}).", e);
        }

        await using (file.ConfigureAwait(false))
        {
            using var checksum = new HubChecksum(meta.Etag, meta.Size);
            long size = meta.Size;
            byte[] buffer = new byte[BufferSize];
            long position = file.Length;
            if (size >= 0 && position > size)
            {
                file.SetLength(0);
                position = 0;
            }
            if (position > 0 && checksum.CanVerify)
            {
                file.Position = 0;
                for (long left = position; left > 0;)
                {
                    int n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }
                    checksum.Append(buffer.AsSpan(0, n));
                    left -= n;
                }
            }
            file.Position = position;
            reportFileBytes(position);
            if (size >= 0)
            {
                EnsureSpace(layout.RepoId, layout.BlobsDir, size - position, path);
            }

            int failures = 0;
            while (size < 0 || position < size)
            {
                try
                {
                    using var response = await http.GetAsync(layout.RepoId, revision, path, meta.DownloadUrl, position, ct).ConfigureAwait(false);
                    if (position > 0 && !IsResumeOf(response, position))
                    {
                        // The server ignored or rejected the range (200 or 416): start this file over.
                        Restart(file, checksum, ref position, reportFileBytes);
                        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                        {
                            continue;
                        }
                    }
                    if (size < 0 && response.Content.Headers.ContentLength is long length)
                    {
                        size = position + length;
                    }
                    var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    await using (body.ConfigureAwait(false))
                    {
                        try
                        {
                            await CopyAsync(body, file, checksum, buffer, position, size, reportFileBytes, ct).ConfigureAwait(false);
                        }
                        finally
                        {
                            position = file.Position; // what really reached the file, also when the connection dropped mid-way
                        }
                    }
                    if (size < 0)
                    {
                        break;
                    }
                    if (position < size)
                    {
                        throw new IOException($"The connection closed after {position} of {size} bytes.");
                    }
                    if (position > size)
                    {
                        throw new HubException(HubErrorKind.Protocol, layout.RepoId,
                            $"{layout.RepoId}/{path}: the server sent {position} bytes, {size} were announced.");
                    }
                }
                catch (Exception e) when (IsTransient(e, ct) && failures < MaxNetworkRetries)
                {
                    failures++;
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * failures), ct).ConfigureAwait(false);
                }
            }
            await file.FlushAsync(ct).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            reportFileBytes(position);
            string? actual = checksum.Finish();
            return (actual, checksum.Matches(actual));
        }
    }

    private static async Task CopyAsync(Stream body, FileStream file, HubChecksum checksum, byte[] buffer, long position, long size,
        Action<long> reportFileBytes, CancellationToken ct)
    {
        long lastReport = position;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (true)
        {
            idle.CancelAfter(IdleTimeout);
            int n;
            try
            {
                n = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new IOException($"No data for {IdleTimeout.TotalSeconds:0} s.");
            }
            if (n == 0)
            {
                return;
            }
            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            checksum.Append(buffer.AsSpan(0, n));
            position += n;
            if (position - lastReport >= ReportEveryBytes || position == size)
            {
                reportFileBytes(position);
                lastReport = position;
            }
        }
    }

    private static bool IsResumeOf(HttpResponseMessage response, long position) =>
        response.StatusCode == HttpStatusCode.PartialContent
        && response.Content.Headers.ContentRange is ContentRangeHeaderValue { From: long from } && from == position;

    private static void Restart(FileStream file, HubChecksum checksum, ref long position, Action<long> reportFileBytes)
    {
        file.SetLength(0);
        file.Position = 0;
        position = 0;
        checksum.Reset();
        reportFileBytes(0);
    }

    /// <summary>Dropped connections, resets and timeouts are retried (resuming); HTTP errors and cancellation are not.</summary>
    internal static bool IsTransient(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e switch
        {
            HttpRequestException { StatusCode: null } => true,
            IOException => true,
            TimeoutException => true,
            _ => false,
        };
}

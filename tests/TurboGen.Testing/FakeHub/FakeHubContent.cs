using Microsoft.AspNetCore.Http;

namespace TurboGen.Testing.FakeHub;

/// <summary>
/// File bodies of <see cref="FakeHubServer"/> (resolve URLs and the CDN): Accept-Ranges, a single byte Range (206 + Content-Range,
/// 416 past the end), HEAD without a body, 64 KiB chunks, and the faults of <see cref="FakeHubFaults"/> applied on the way.
/// </summary>
internal static class FakeHubContent
{
    private const int ChunkSize = 64 * 1024;

    public static async Task ServeAsync(HttpContext context, FakeHubFile file, bool headOnly, FakeHubFaults faults)
    {
        var response = context.Response;
        long length = file.Length;
        long start = 0;
        long end = length - 1;
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";
        if (TryParseRange(context.Request.Headers.Range.FirstOrDefault(), out long from, out long? to))
        {
            if (from >= length)
            {
                response.StatusCode = 416;
                response.Headers.ContentRange = $"bytes */{length}";
                return;
            }
            start = from;
            end = Math.Min(to ?? length - 1, length - 1);
            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {start}-{end}/{length}";
        }
        response.ContentLength = end - start + 1;
        if (headOnly)
        {
            return;
        }

        long? cutAfter = faults.TakeCut(file.Path);
        bool corrupt = faults.TakeCorruption(file.Path);
        faults.BodyStarted();
        try
        {
            var aborted = context.RequestAborted;
            if (faults.BodyDelay > TimeSpan.Zero)
            {
                await Task.Delay(faults.BodyDelay, aborted).ConfigureAwait(false);
            }
            await using var stream = file.Open();
            stream.Seek(start, SeekOrigin.Begin);
            byte[] buffer = new byte[ChunkSize];
            long sent = 0;
            long remaining = end - start + 1;
            while (remaining > 0)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), aborted).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                if (corrupt && sent == 0)
                {
                    buffer[0] ^= 0xFF;
                }
                if (cutAfter is long limit && sent + n > limit)
                {
                    await response.Body.WriteAsync(buffer.AsMemory(0, (int)(limit - sent)), aborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    await Task.Delay(50, aborted).ConfigureAwait(false); // let the bytes arrive before the reset
                    context.Abort();
                    return;
                }
                await response.Body.WriteAsync(buffer.AsMemory(0, n), aborted).ConfigureAwait(false);
                sent += n;
                remaining -= n;
                if (faults.ChunkDelay > TimeSpan.Zero)
                {
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    await Task.Delay(faults.ChunkDelay, aborted).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }
        finally
        {
            faults.BodyEnded();
        }
    }

    private static bool TryParseRange(string? header, out long from, out long? to)
    {
        from = 0;
        to = null;
        if (header is null || !header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(','))
        {
            return false;
        }
        string[] parts = header["bytes=".Length..].Split('-');
        if (parts.Length != 2 || !long.TryParse(parts[0], out from))
        {
            return false;
        }
        if (parts[1].Length > 0)
        {
            if (!long.TryParse(parts[1], out long end) || end < from)
            {
                return false;
            }
            to = end;
        }
        return true;
    }
}

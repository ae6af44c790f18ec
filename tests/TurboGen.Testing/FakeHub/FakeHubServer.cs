using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TurboGen.Testing.FakeHub;

/// <summary>
/// An in-process Hugging Face Hub on 127.0.0.1 (real sockets, Kestrel, two ports): the API
/// (<c>/api/models/{org}/{name}/revision/{rev}[?blobs=true]</c>, <c>/api/models/{org}/{name}/tree/{rev}[/{path}][?recursive=true]</c>)
/// and HEAD/GET <c>/{org}/{name}/resolve/{rev}/{path}</c> with the real headers (ETag, X-Repo-Commit, X-Error-Code; LFS files answer
/// 302 with X-Linked-Etag, X-Linked-Size and a Location on the second port, the "CDN", which is a different origin). Bodies honour
/// Range (206 + Content-Range, 416). Test hooks: the request log, cutting a transfer after N bytes, corrupting a transfer, delays,
/// and the largest number of bodies served at once.
/// </summary>
public sealed class FakeHubServer : IAsyncDisposable
{
    private const int ChunkSize = 64 * 1024;
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, FakeHubRepo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeHubRequest> _requests = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _cuts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _corruptions = new(StringComparer.Ordinal);
    private int _bodiesInFlight;
    private int _maxBodiesInFlight;

    private FakeHubServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The Hub origin, e.g. "http://127.0.0.1:41234" (use as HF_ENDPOINT).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>The CDN origin LFS redirects point to (same host, other port: a different origin).</summary>
    public string CdnEndpoint { get; private set; } = "";

    /// <summary>Wait before sending each body (makes concurrent downloads overlap).</summary>
    public TimeSpan BodyDelay { get; set; }

    /// <summary>Wait after each 64 KiB chunk of a body (makes transfers slow enough to cancel).</summary>
    public TimeSpan ChunkDelay { get; set; }

    public IReadOnlyList<FakeHubRequest> Requests => _requests.ToArray();

    /// <summary>The most GET bodies that were being sent at the same time since the last <see cref="ResetRequests"/>.</summary>
    public int MaxConcurrentBodies => Volatile.Read(ref _maxBodiesInFlight);

    public static async Task<FakeHubServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var server = new FakeHubServer(app);
        ((IApplicationBuilder)app).Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        if (addresses.Count != 2)
        {
            throw new InvalidOperationException("The fake Hub expected two listening addresses, got: " + string.Join(", ", addresses));
        }
        server.Endpoint = addresses[0].TrimEnd('/');
        server.CdnEndpoint = addresses[1].TrimEnd('/');
        return server;
    }

    /// <summary>Serves a repository (replacing one with the same id).</summary>
    public FakeHubRepo AddRepo(FakeHubRepo repo)
    {
        _repos[repo.RepoId] = repo;
        return repo;
    }

    public FakeHubRepo AddRepo(string repoId, params FakeHubFile[] files) => AddRepo(new FakeHubRepo(repoId, files));

    /// <summary>The next <paramref name="times"/> GET bodies of <paramref name="path"/> close the connection after <paramref name="afterBytes"/> bytes.</summary>
    public void CutTransfer(string path, long afterBytes, int times = 1)
    {
        var queue = _cuts.GetOrAdd(path, _ => new ConcurrentQueue<long>());
        for (int i = 0; i < times; i++)
        {
            queue.Enqueue(afterBytes);
        }
    }

    /// <summary>The next <paramref name="times"/> GET bodies of <paramref name="path"/> have their first byte flipped.</summary>
    public void CorruptTransfer(string path, int times = 1) => _corruptions.AddOrUpdate(path, times, (_, n) => n + times);

    public void ResetRequests()
    {
        _requests.Clear();
        Volatile.Write(ref _maxBodiesInFlight, 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private bool IsCdnRequest(HttpContext context) => CdnEndpoint.EndsWith(":" + context.Connection.LocalPort, StringComparison.Ordinal);

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        bool isCdn = IsCdnRequest(context);
        _requests.Enqueue(new FakeHubRequest(request.Method, request.Path.Value + request.QueryString.Value,
            request.Headers.Range.FirstOrDefault(), request.Headers.Authorization.FirstOrDefault(), isCdn));

        string[] segments = (request.Path.Value ?? "").Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        bool isGet = HttpMethods.IsGet(request.Method);
        bool isHead = HttpMethods.IsHead(request.Method);
        if (isCdn)
        {
            if (segments is ["cdn", var sha] && (isGet || isHead))
            {
                var file = _repos.Values.SelectMany(r => r.Files).FirstOrDefault(f => f.IsLfs && f.Sha256 == sha);
                if (file is null)
                {
                    await ErrorAsync(context, 404, "EntryNotFound", "No such object").ConfigureAwait(false);
                    return;
                }
                context.Response.Headers.ETag = $"\"{file.Sha256}\"";
                await ServeContentAsync(context, file, isHead).ConfigureAwait(false);
                return;
            }
            await ErrorAsync(context, 404, null, "Not found").ConfigureAwait(false);
            return;
        }

        if (segments.Length >= 6 && segments[0] == "api" && segments[1] == "models" && isGet && segments[4] is "revision" or "tree")
        {
            string repoId = segments[2] + "/" + segments[3];
            if (await CheckRepoAsync(context, repoId, segments[5], filesAccess: false).ConfigureAwait(false) is not { } repo)
            {
                return;
            }
            if (segments[4] == "revision")
            {
                await WriteJsonAsync(context, RevisionJson(repo, request.Query["blobs"] is ["true" or "1" or "True"])).ConfigureAwait(false);
            }
            else
            {
                await TreeAsync(context, repo, string.Join('/', segments[6..]), request.Query["recursive"] is ["true" or "1" or "True"]).ConfigureAwait(false);
            }
            return;
        }

        if (segments.Length >= 5 && segments[2] == "resolve" && (isGet || isHead))
        {
            string repoId = segments[0] + "/" + segments[1];
            if (await CheckRepoAsync(context, repoId, segments[3], filesAccess: true).ConfigureAwait(false) is not { } repo)
            {
                return;
            }
            string path = string.Join('/', segments[4..]);
            var file = repo.Find(path);
            context.Response.Headers["X-Repo-Commit"] = repo.Commit;
            if (file is null)
            {
                await ErrorAsync(context, 404, "EntryNotFound", $"{path} does not exist on \"{segments[3]}\"").ConfigureAwait(false);
                return;
            }
            if (file.IsLfs)
            {
                context.Response.StatusCode = 302;
                context.Response.Headers.ETag = $"\"{file.PointerGitSha1}\"";
                context.Response.Headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
                context.Response.Headers["X-Linked-Size"] = file.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers.Location = $"{CdnEndpoint}/cdn/{file.Sha256}";
                context.Response.ContentLength = 0;
                return;
            }
            context.Response.Headers.ETag = $"\"{file.ContentGitSha1}\"";
            await ServeContentAsync(context, file, isHead).ConfigureAwait(false);
            return;
        }

        await ErrorAsync(context, 404, null, "Not found").ConfigureAwait(false);
    }

    /// <summary>Repo existence, revision and access checks with the Hub's status codes; null when an error was written.</summary>
    private async Task<FakeHubRepo?> CheckRepoAsync(HttpContext context, string repoId, string revision, bool filesAccess)
    {
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            await ErrorAsync(context, 404, "RepoNotFound", "Repository not found").ConfigureAwait(false);
            return null;
        }
        string? auth = context.Request.Headers.Authorization.FirstOrDefault();
        bool authorized = repo.RequiredToken is not null && auth == "Bearer " + repo.RequiredToken;
        if (repo.Private && !authorized)
        {
            await ErrorAsync(context, 401, "RepoNotFound", "Repository not found").ConfigureAwait(false);
            return null;
        }
        if (repo.Gated && filesAccess && !authorized)
        {
            int status = auth is null ? 401 : 403;
            await ErrorAsync(context, status, "GatedRepo", $"Access to model {repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.").ConfigureAwait(false);
            return null;
        }
        if (revision != "main" && revision != repo.Commit)
        {
            await ErrorAsync(context, 404, "RevisionNotFound", $"Invalid rev id: {revision}").ConfigureAwait(false);
            return null;
        }
        return repo;
    }

    private static Dictionary<string, object?> RevisionJson(FakeHubRepo repo, bool blobs) => new()
    {
        ["_id"] = repo.Commit[..24],
        ["id"] = repo.RepoId,
        ["modelId"] = repo.RepoId,
        ["sha"] = repo.Commit,
        ["private"] = repo.Private,
        ["gated"] = repo.Gated ? "manual" : false,
        ["disabled"] = false,
        ["lastModified"] = "2024-01-01T00:00:00.000Z",
        ["tags"] = Array.Empty<string>(),
        ["siblings"] = repo.Files.Select(f => blobs
            ? new Dictionary<string, object?>
            {
                ["rfilename"] = f.Path,
                ["blobId"] = f.GitOid,
                ["size"] = f.Length,
                ["lfs"] = f.IsLfs ? new Dictionary<string, object?> { ["sha256"] = f.Sha256, ["size"] = f.Length, ["pointerSize"] = f.LfsPointer.Length } : null,
            }
            : new Dictionary<string, object?> { ["rfilename"] = f.Path }).ToList(),
    };

    private static async Task TreeAsync(HttpContext context, FakeHubRepo repo, string path, bool recursive)
    {
        string prefix = path.Length == 0 ? "" : path.TrimEnd('/') + "/";
        if (prefix.Length > 0 && !repo.Files.Any(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)))
        {
            await ErrorAsync(context, 404, "EntryNotFound", $"{path} does not exist").ConfigureAwait(false);
            return;
        }
        var entries = new List<Dictionary<string, object?>>();
        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in repo.Files.Where(f => f.Path.StartsWith(prefix, StringComparison.Ordinal)))
        {
            string[] rest = file.Path[prefix.Length..].Split('/');
            for (int depth = 1; depth < rest.Length && (recursive || depth == 1); depth++)
            {
                directories.Add(prefix + string.Join('/', rest[..depth]));
            }
            if (recursive || rest.Length == 1)
            {
                var entry = new Dictionary<string, object?> { ["type"] = "file", ["oid"] = file.GitOid, ["size"] = file.Length, ["path"] = file.Path };
                if (file.IsLfs)
                {
                    entry["lfs"] = new Dictionary<string, object?> { ["oid"] = file.Sha256, ["size"] = file.Length, ["pointerSize"] = file.LfsPointer.Length };
                }
                entries.Add(entry);
            }
        }
        entries.InsertRange(0, directories.Select(d => new Dictionary<string, object?>
        {
            ["type"] = "directory",
            ["oid"] = FakeHubFile.GitBlobSha1(System.Text.Encoding.UTF8.GetBytes("tree " + d)),
            ["size"] = 0,
            ["path"] = d,
        }));
        await WriteJsonAsync(context, entries).ConfigureAwait(false);
    }

    private async Task ServeContentAsync(HttpContext context, FakeHubFile file, bool headOnly)
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

        long? cutAfter = _cuts.TryGetValue(file.Path, out var cuts) && cuts.TryDequeue(out long cut) ? cut : null;
        bool corrupt = TakeCorruption(file.Path);
        int inFlight = Interlocked.Increment(ref _bodiesInFlight);
        UpdateMax(inFlight);
        try
        {
            var aborted = context.RequestAborted;
            if (BodyDelay > TimeSpan.Zero)
            {
                await Task.Delay(BodyDelay, aborted).ConfigureAwait(false);
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
                if (ChunkDelay > TimeSpan.Zero)
                {
                    await response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    await Task.Delay(ChunkDelay, aborted).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the client went away
        }
        finally
        {
            Interlocked.Decrement(ref _bodiesInFlight);
        }
    }

    private bool TakeCorruption(string path)
    {
        while (_corruptions.TryGetValue(path, out int left) && left > 0)
        {
            if (_corruptions.TryUpdate(path, left - 1, left))
            {
                return true;
            }
        }
        return false;
    }

    private void UpdateMax(int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref _maxBodiesInFlight)) && Interlocked.CompareExchange(ref _maxBodiesInFlight, value, current) != current)
        {
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

    private static async Task ErrorAsync(HttpContext context, int status, string? code, string message)
    {
        context.Response.StatusCode = status;
        if (code is not null)
        {
            context.Response.Headers["X-Error-Code"] = code;
        }
        context.Response.Headers["X-Error-Message"] = message;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await WriteJsonAsync(context, new Dictionary<string, string> { ["error"] = message }, status).ConfigureAwait(false);
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, object value, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(value)).ConfigureAwait(false);
    }
}

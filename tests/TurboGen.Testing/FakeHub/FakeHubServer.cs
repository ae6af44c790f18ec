using System.Collections.Concurrent;
using System.Net;
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
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, FakeHubRepo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeHubRequest> _requests = new();
    private readonly FakeHubFaults _faults = new();

    private FakeHubServer(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The Hub origin, e.g. "http://127.0.0.1:41234" (use as HF_ENDPOINT).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>The CDN origin LFS redirects point to (same host, other port: a different origin).</summary>
    public string CdnEndpoint { get; private set; } = "";

    /// <summary>Wait before sending each body (makes concurrent downloads overlap).</summary>
    public TimeSpan BodyDelay { get => _faults.BodyDelay; set => _faults.BodyDelay = value; }

    /// <summary>Wait after each 64 KiB chunk of a body (makes transfers slow enough to cancel).</summary>
    public TimeSpan ChunkDelay { get => _faults.ChunkDelay; set => _faults.ChunkDelay = value; }

    public IReadOnlyList<FakeHubRequest> Requests => _requests.ToArray();

    /// <summary>The most GET bodies that were being sent at the same time since the last <see cref="ResetRequests"/>.</summary>
    public int MaxConcurrentBodies => _faults.MaxConcurrentBodies;

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
    public void CutTransfer(string path, long afterBytes, int times = 1) => _faults.CutTransfer(path, afterBytes, times);

    /// <summary>The next <paramref name="times"/> GET bodies of <paramref name="path"/> have their first byte flipped.</summary>
    public void CorruptTransfer(string path, int times = 1) => _faults.CorruptTransfer(path, times);

    public void ResetRequests()
    {
        _requests.Clear();
        _faults.ResetMaxConcurrentBodies();
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
                    await FakeHubApi.ErrorAsync(context, 404, "EntryNotFound", "No such object").ConfigureAwait(false);
                    return;
                }
                context.Response.Headers.ETag = $"\"{file.Sha256}\"";
                await FakeHubContent.ServeAsync(context, file, isHead, _faults).ConfigureAwait(false);
                return;
            }
            await FakeHubApi.ErrorAsync(context, 404, null, "Not found").ConfigureAwait(false);
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
                await FakeHubApi.WriteJsonAsync(context, FakeHubApi.RevisionJson(repo, request.Query["blobs"] is ["true" or "1" or "True"])).ConfigureAwait(false);
            }
            else
            {
                await FakeHubApi.TreeAsync(context, repo, string.Join('/', segments[6..]), request.Query["recursive"] is ["true" or "1" or "True"]).ConfigureAwait(false);
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
                await FakeHubApi.ErrorAsync(context, 404, "EntryNotFound", $"{path} does not exist on \"{segments[3]}\"").ConfigureAwait(false);
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
            await FakeHubContent.ServeAsync(context, file, isHead, _faults).ConfigureAwait(false);
            return;
        }

        await FakeHubApi.ErrorAsync(context, 404, null, "Not found").ConfigureAwait(false);
    }

    /// <summary>Repo existence, revision and access checks with the Hub's status codes; null when an error was written.</summary>
    private async Task<FakeHubRepo?> CheckRepoAsync(HttpContext context, string repoId, string revision, bool filesAccess)
    {
        if (!_repos.TryGetValue(repoId, out var repo))
        {
            await FakeHubApi.ErrorAsync(context, 404, "RepoNotFound", "Repository not found").ConfigureAwait(false);
            return null;
        }
        string? auth = context.Request.Headers.Authorization.FirstOrDefault();
        bool authorized = repo.RequiredToken is not null && auth == "Bearer " + repo.RequiredToken;
        if (repo.Private && !authorized)
        {
            await FakeHubApi.ErrorAsync(context, 401, "RepoNotFound", "Repository not found").ConfigureAwait(false);
            return null;
        }
        if (repo.Gated && filesAccess && !authorized)
        {
            int status = auth is null ? 401 : 403;
            await FakeHubApi.ErrorAsync(context, status, "GatedRepo", $"Access to model {repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.").ConfigureAwait(false);
            return null;
        }
        if (revision != "main" && revision != repo.Commit)
        {
            await FakeHubApi.ErrorAsync(context, 404, "RevisionNotFound", $"Invalid rev id: {revision}").ConfigureAwait(false);
            return null;
        }
        return repo;
    }
}

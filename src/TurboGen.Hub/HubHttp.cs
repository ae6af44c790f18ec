using System.Net;
using System.Net.Http.Headers;

namespace TurboGen.Hub;

/// <summary>What a HEAD on resolve/{revision}/{path} says about a file (the headers huggingface_hub relies on).</summary>
internal sealed record HubFileMetadata(string Commit, string Etag, long Size, Uri DownloadUrl);

/// <summary>
/// HTTP plumbing shared by the client: URLs, the Authorization rule (the token goes only to the endpoint's own origin, never to the
/// CDN a 302 points at), HEAD with manual redirects, and turning Hub error responses into <see cref="HubException"/>s people understand.
/// </summary>
internal sealed class HubHttp(HubOptions options, HttpClient http)
{
    private const int MaxRedirects = 5;

    /// <summary>How long to wait for response headers (the body of a download has its own idle timeout).</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);
    private readonly Uri _endpoint = new(options.Endpoint.TrimEnd('/') + "/");

    public string Endpoint => options.Endpoint.TrimEnd('/');

    public Uri RevisionApiUrl(string repoId, string revision) =>
        new(_endpoint, $"api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}?blobs=true");

    public Uri ResolveUrl(string repoId, string revision, string path) =>
        new(_endpoint, $"{repoId}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>Sends without following redirects; the body is not buffered.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, long rangeStart, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("TurboGen", "1.0"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
        if (options.Token is not null && IsSameOrigin(url))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        }
        if (rangeStart > 0)
        {
            request.Headers.Range = new RangeHeaderValue(rangeStart, null);
        }
        using var headersTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        headersTimeout.CancelAfter(RequestTimeout);
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{url.Host} did not answer within {RequestTimeout.TotalSeconds:0} s.");
        }
    }

    /// <summary>
    /// HEAD resolve/{revision}/{path} like huggingface_hub: relative redirects (renamed repos) are followed, an absolute one (the LFS
    /// CDN) is not — its X-Linked-Etag / X-Linked-Size / Location are the metadata.
    /// </summary>
    public async Task<HubFileMetadata> HeadAsync(string repoId, string revision, string path, CancellationToken ct)
    {
        Uri url = ResolveUrl(repoId, revision, path);
        for (int hop = 0; ; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, url, 0, ct).ConfigureAwait(false);
            Uri? location = response.Headers.Location;
            bool isRedirect = (int)response.StatusCode is >= 300 and < 400 && location is not null;
            if (isRedirect && !location!.IsAbsoluteUri && hop < MaxRedirects)
            {
                url = new Uri(url, location);
                continue;
            }
            if (!response.IsSuccessStatusCode && !isRedirect)
            {
                throw Error(response, repoId, revision, path);
            }

            string? commit = Header(response, "X-Repo-Commit");
            string? etag = NormalizeEtag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
            if (commit is null || etag is null)
            {
                throw new HubException(HubErrorKind.Protocol, repoId,
                    $"{Endpoint} did not send X-Repo-Commit/ETag for {repoId}/{path}: is HF_ENDPOINT a Hugging Face Hub (or a mirror that forwards these headers)?");
            }
            long size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked : response.Content.Headers.ContentLength ?? -1;
            Uri downloadUrl = isRedirect ? (location!.IsAbsoluteUri ? location : new Uri(url, location)) : url;
            return new HubFileMetadata(commit, etag, size, downloadUrl);
        }
    }

    /// <summary>GET following redirects by hand (dropping Authorization when the origin changes); throws on error statuses other than 416.</summary>
    public async Task<HttpResponseMessage> GetAsync(string repoId, string revision, string path, Uri url, long rangeStart, CancellationToken ct)
    {
        for (int hop = 0; ; hop++)
        {
            var response = await SendAsync(HttpMethod.Get, url, rangeStart, ct).ConfigureAwait(false);
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location && hop < MaxRedirects)
            {
                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                response.Dispose();
                continue;
            }
            if (!response.IsSuccessStatusCode && response.StatusCode != HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                using (response)
                {
                    throw Error(response, repoId, revision, path);
                }
            }
            return response;
        }
    }

    public bool IsSameOrigin(Uri url) =>
        Uri.Compare(url, _endpoint, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>Maps a Hub error response (status + X-Error-Code) to a message that says what to do.</summary>
    public HubException Error(HttpResponseMessage response, string repoId, string revision, string? path)
    {
        int status = (int)response.StatusCode;
        string code = Header(response, "X-Error-Code") ?? "";
        string page = $"{Endpoint}/{repoId}";
        bool hasToken = options.Token is not null;
        if (status is 401 or 403)
        {
            if (code == "GatedRepo")
            {
                return new HubException(HubErrorKind.Unauthorized, repoId, hasToken
                    ? $"{repoId} is a gated model and the token in HF_TOKEN has no access (HTTP {status}): open {page}, accept the licence with that account, and check the token has read access."
                    : $"{repoId} is a gated model (HTTP {status}): accept its licence on {page}, then set HF_TOKEN to an access token of that account (https://huggingface.co/settings/tokens).");
            }
            if (code == "RepoNotFound" && !hasToken)
            {
                return new HubException(HubErrorKind.Unauthorized, repoId,
                    $"{repoId} was not found on {Endpoint}, or it is private or gated (HTTP {status}): check the name; if it is private or gated, set HF_TOKEN to an access token with access to it.");
            }
            return new HubException(HubErrorKind.Unauthorized, repoId, hasToken
                ? $"The token in HF_TOKEN was refused for {repoId} (HTTP {status}): check it is valid, has read access, and that you accepted the licence on {page}."
                : $"{repoId} requires authentication (HTTP {status}): set HF_TOKEN to a Hugging Face access token and accept the licence on {page} if it has one.");
        }
        if (status == 404)
        {
            return code switch
            {
                "EntryNotFound" => new HubException(HubErrorKind.NotFound, repoId, $"File '{path}' not found in {repoId} at revision '{revision}'."),
                "RevisionNotFound" => new HubException(HubErrorKind.NotFound, repoId, $"Revision '{revision}' not found in {repoId} (check the branch, tag or commit)."),
                _ when path is not null && code != "RepoNotFound" => new HubException(HubErrorKind.NotFound, repoId, $"File '{path}' not found in {repoId} at revision '{revision}' (HTTP 404)."),
                _ => new HubException(HubErrorKind.NotFound, repoId, $"Model {repoId} not found on {Endpoint} (HTTP 404): check the id ('org/name')."),
            };
        }
        string message = Header(response, "X-Error-Message") ?? response.ReasonPhrase ?? "";
        return new HubException(HubErrorKind.Protocol, repoId,
            $"{Endpoint} answered HTTP {status} for {repoId}{(path is null ? "" : "/" + path)}: {message}".TrimEnd(' ', ':'));
    }

    /// <summary>huggingface_hub's _normalize_etag: drop a weak "W/" prefix and the quotes.</summary>
    public static string? NormalizeEtag(string? etag)
    {
        if (string.IsNullOrWhiteSpace(etag))
        {
            return null;
        }
        string value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }
        value = value.Trim('"');
        return value.Length == 0 || value.Contains('/') || value.Contains('\\') || value.Contains("..", StringComparison.Ordinal) ? null : value;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;
}

using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace TurboGen.Testing.FakeHub;

/// <summary>The JSON answers of <see cref="FakeHubServer"/>: model revision info, tree listings and errors with the Hub's headers.</summary>
internal static class FakeHubApi
{
    public static Dictionary<string, object?> RevisionJson(FakeHubRepo repo, bool blobs) => new()
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

    public static async Task TreeAsync(HttpContext context, FakeHubRepo repo, string path, bool recursive)
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

    public static async Task ErrorAsync(HttpContext context, int status, string? code, string message)
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

    public static async Task WriteJsonAsync(HttpContext context, object value, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(value)).ConfigureAwait(false);
    }
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace TurboGen.Server.Policy;

/// <summary>
/// Whose kept images a request sees: the one rule for every history endpoint and the WebSocket.
/// <list type="bullet">
/// <item>A client that names itself (the web app: a random id kept in the browser's localStorage) with the
/// <c>X-TurboGen-Client</c> header or the <c>turbogen_client</c> cookie owns a private history: its own folder under the
/// output folder, named by a hash of the id (the id itself is never written to disk). Nobody else can list, open,
/// favourite or delete those images without the id.</item>
/// <item>A client that sends no id (scripts: A1111 <c>save_images</c>, native <c>save</c>) uses the output folder itself,
/// shared by such clients — on a server with an API key, by the holders of the key.</item>
/// </list>
/// An id must be 16–128 characters of <c>A–Z a–z 0–9 _ -</c> (a UUID qualifies); anything else is refused naming <c>client</c>.
/// </summary>
public sealed record HistoryOwner
{
    public const string HeaderName = "X-TurboGen-Client", CookieName = "turbogen_client";
    public const int MinIdLength = 16, MaxIdLength = 128;

    private HistoryOwner(string folder) => Folder = folder;

    /// <summary>The clients that send no id: the output folder itself.</summary>
    public static HistoryOwner Shared { get; } = new("");

    /// <summary>The owner's folder relative to the output folder ("" for <see cref="Shared"/>).</summary>
    public string Folder { get; }

    public bool IsShared => Folder.Length == 0;

    /// <summary>The owner of a client id (validated).</summary>
    public static HistoryOwner ForClient(string id)
    {
        if (id.Length is < MinIdLength or > MaxIdLength || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new InvalidRequestException("client",
                $"The client id ({HeaderName} header or {CookieName} cookie) must be {MinIdLength}–{MaxIdLength} characters of A–Z, a–z, 0–9, '_' and '-'.");
        }
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes("turbogen-history\n" + id));
        return new HistoryOwner("c-" + Convert.ToHexStringLower(hash, 0, 16));
    }

    /// <summary>The owner a request speaks for: its client id (header first, then cookie), else <see cref="Shared"/>.</summary>
    public static HistoryOwner From(HttpRequest request)
    {
        string? id = request.Headers[HeaderName].FirstOrDefault(h => !string.IsNullOrEmpty(h));
        if (id is null && request.Cookies.TryGetValue(CookieName, out string? cookie) && !string.IsNullOrEmpty(cookie)) id = cookie;
        return id is null ? Shared : ForClient(id.Trim());
    }

    /// <summary>The owner of a folder <see cref="ForClient"/> produced (retention walks every history).</summary>
    internal static HistoryOwner FromFolder(string folder) =>
        IsOwnerFolder(folder) ? new HistoryOwner(folder) : throw new ArgumentException($"'{folder}' is not a history folder.", nameof(folder));

    /// <summary>True for a folder name <see cref="ForClient"/> produces (retention walks only these and the shared folder).</summary>
    public static bool IsOwnerFolder(string name) =>
        name.Length == 34 && name.StartsWith("c-", StringComparison.Ordinal) && name.AsSpan(2).IndexOfAnyExcept("0123456789abcdef") < 0;

    public override string ToString() => IsShared ? "shared" : Folder;
}

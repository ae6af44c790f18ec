using System.Security.Cryptography;

namespace TurboGen.Server.Api;

/// <summary>
/// Short-lived in-memory store behind OpenAI <c>response_format=url</c>: each image gets an unguessable id (128 random
/// bits, so the URL itself is the credential, like OpenAI's signed URLs) and expires after <see cref="Lifetime"/>.
/// The store is bounded by count and bytes; the oldest images are evicted first.
/// </summary>
public sealed class ImageStore(TimeSpan? lifetime = null, int maxImages = 256, long maxBytes = 256L * 1024 * 1024, TimeProvider? clock = null)
{
    private readonly object _lock = new();
    private readonly LinkedList<(string Id, Entry Entry)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Id, Entry Entry)>> _byId = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private long _bytes;

    public TimeSpan Lifetime { get; } = lifetime ?? TimeSpan.FromHours(1);

    public int Count { get { lock (_lock) return _byId.Count; } }

    /// <summary>A stored image and when it stops being served.</summary>
    public sealed record Entry(byte[] Data, string ContentType, DateTimeOffset ExpiresAt);

    /// <summary>Stores an image and returns its id (hex, with the format's extension, e.g. "3f…a1.png").</summary>
    public string Add(byte[] data, string contentType, string extension)
    {
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "." + extension;
        var entry = new Entry(data, contentType, _clock.GetUtcNow() + Lifetime);
        lock (_lock)
        {
            PruneExpired();
            _byId[id] = _order.AddLast((id, entry));
            _bytes += data.Length;
            while (_order.Count > 1 && (_order.Count > maxImages || _bytes > maxBytes))
            {
                Remove(_order.First!);
            }
        }
        return id;
    }

    /// <summary>The image, or null when unknown, expired or evicted.</summary>
    public Entry? Get(string id)
    {
        lock (_lock)
        {
            PruneExpired();
            return _byId.TryGetValue(id, out var node) ? node.Value.Entry : null;
        }
    }

    private void PruneExpired()
    {
        var now = _clock.GetUtcNow();
        while (_order.First is { } first && first.Value.Entry.ExpiresAt <= now)
        {
            Remove(first);
        }
    }

    private void Remove(LinkedListNode<(string Id, Entry Entry)> node)
    {
        _order.Remove(node);
        _byId.Remove(node.Value.Id);
        _bytes -= node.Value.Entry.Data.Length;
    }
}

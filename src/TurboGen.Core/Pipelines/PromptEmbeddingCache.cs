using TurboGen.Runtime;

namespace TurboGen.Pipelines;

/// <summary>
/// LRU cache of text-encoder outputs for one prompt (batch 1), keyed by model, encoder and prompt: typing the
/// same prompt with a new seed, size or step count does not re-run the encoders. Thread-safe.
/// </summary>
public sealed class PromptEmbeddingCache(int capacity = 128)
{
    private readonly object _lock = new();
    private readonly Dictionary<(string Model, string Encoder, string Prompt), LinkedListNode<Entry>> _map = new();
    private readonly LinkedList<Entry> _order = new();

    private sealed record Entry((string, string, string) Key, TextEncoderOutput Value);

    /// <summary>Entries held now (at most the capacity; default 128).</summary>
    public int Count { get { lock (_lock) return _map.Count; } }

    /// <summary>Lookups that found an entry since the cache was created.</summary>
    public int Hits { get; private set; }

    /// <summary>Lookups that found nothing since the cache was created.</summary>
    public int Misses { get; private set; }

    /// <summary>The cached output for (<paramref name="model"/>, <paramref name="encoder"/>, <paramref name="prompt"/>), marking it most recently used; counts a hit or a miss.</summary>
    public bool TryGet(string model, string encoder, string prompt, out TextEncoderOutput value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue((model, encoder, prompt), out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                Hits++;
                return true;
            }
            Misses++;
            value = null!;
            return false;
        }
    }

    /// <summary>Stores an output as most recently used, evicting the least recently used entry beyond the capacity; a capacity of 0 or less stores nothing.</summary>
    public void Add(string model, string encoder, string prompt, TextEncoderOutput value)
    {
        if (capacity <= 0) return;
        lock (_lock)
        {
            var key = (model, encoder, prompt);
            if (_map.TryGetValue(key, out var existing))
            {
                _order.Remove(existing);
            }
            var node = _order.AddFirst(new Entry(key, value));
            _map[key] = node;
            while (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
    }

    /// <summary>Removes every entry (the hit and miss counts are kept).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _map.Clear();
            _order.Clear();
        }
    }
}

using System.Collections.Concurrent;

namespace TurboGen.Testing.FakeHub;

/// <summary>
/// The fault-injection and load hooks of <see cref="FakeHubServer"/>: transfers cut after N bytes, transfers with their first
/// byte flipped, delays before a body and after each chunk, and the largest number of bodies sent at once.
/// </summary>
internal sealed class FakeHubFaults
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _cuts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _corruptions = new(StringComparer.Ordinal);
    private int _bodiesInFlight;
    private int _maxBodiesInFlight;

    /// <summary>Wait before sending each body.</summary>
    public TimeSpan BodyDelay { get; set; }

    /// <summary>Wait after each chunk of a body.</summary>
    public TimeSpan ChunkDelay { get; set; }

    public int MaxConcurrentBodies => Volatile.Read(ref _maxBodiesInFlight);

    public void CutTransfer(string path, long afterBytes, int times)
    {
        var queue = _cuts.GetOrAdd(path, _ => new ConcurrentQueue<long>());
        for (int i = 0; i < times; i++)
        {
            queue.Enqueue(afterBytes);
        }
    }

    public void CorruptTransfer(string path, int times) => _corruptions.AddOrUpdate(path, times, (_, n) => n + times);

    public void ResetMaxConcurrentBodies() => Volatile.Write(ref _maxBodiesInFlight, 0);

    /// <summary>The byte count after which this body of <paramref name="path"/> is cut, or null (uses up one queued cut).</summary>
    public long? TakeCut(string path) => _cuts.TryGetValue(path, out var cuts) && cuts.TryDequeue(out long cut) ? cut : null;

    /// <summary>Whether this body of <paramref name="path"/> is corrupted (uses up one queued corruption).</summary>
    public bool TakeCorruption(string path)
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

    /// <summary>Counts a body as being sent until <see cref="BodyEnded"/>.</summary>
    public void BodyStarted() => UpdateMax(Interlocked.Increment(ref _bodiesInFlight));

    public void BodyEnded() => Interlocked.Decrement(ref _bodiesInFlight);

    private void UpdateMax(int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref _maxBodiesInFlight)) && Interlocked.CompareExchange(ref _maxBodiesInFlight, value, current) != current)
        {
        }
    }
}

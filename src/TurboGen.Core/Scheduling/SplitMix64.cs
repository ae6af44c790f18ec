using System.Text;

namespace TurboGen.Scheduling;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014): a tiny, fast, seedable 64-bit generator. It seeds <see cref="NoiseStream"/>'s
/// xoshiro256** state and makes the random weights of benchmark and test checkpoints (System.Random with a seed is too
/// slow for gigabytes, and its sequence is not specified). Frozen: changing it changes seeded images and random checkpoints.
/// </summary>
/// <param name="state">The starting state (the seed).</param>
public struct SplitMix64(ulong state)
{
    private ulong _state = state;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// The 64-bit FNV-1a hash of <paramref name="name"/>'s UTF-8 bytes: mixed into a seed so that every tensor of a random
    /// checkpoint gets its own stream, independent of the order tensors are written in.
    /// </summary>
    public static ulong HashName(string name)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }
        return hash;
    }
}

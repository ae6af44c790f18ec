namespace TurboGen.Scheduling;

/// <summary>
/// Reproducible N(0,1) noise for the sampler (algorithm in <see cref="NoiseStream"/>; the same seed gives the same
/// floats on every platform). Convention for a generation: image <c>i</c> of a batch uses its own stream seeded with
/// <see cref="SeedForImage"/> (seed + i); from that stream the initial latent noise is drawn first, then each
/// ancestral step's noise in step order (every step, including the last). PyTorch's generator is not reproduced, so
/// images differ from diffusers' for the same seed.
/// </summary>
public static class SeededNoise
{
    /// <summary>Fills <paramref name="destination"/> with the first values of the stream for <paramref name="seed"/>.</summary>
    public static void Fill(ulong seed, Span<float> destination) => new NoiseStream(seed).Next(destination);

    /// <summary>The first <paramref name="count"/> values of the stream for <paramref name="seed"/>.</summary>
    public static float[] Create(ulong seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new float[count];
        Fill(seed, values);
        return values;
    }

    /// <summary>The seed of image <paramref name="index"/> of a batch: seed + index (wrapping at 2⁶⁴).</summary>
    public static ulong SeedForImage(ulong seed, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return unchecked(seed + (ulong)index);
    }
}

using TurboGen.Scheduling;

namespace TurboGen.Core.Tests.Scheduling;

public class SeededNoiseTests
{
    [Fact]
    public void FixedSeedsGiveTheFrozenValues()
    {
        // Frozen when the algorithm was written (SplitMix64 → xoshiro256** → polar method, see NoiseStream) and
        // cross-checked against an independent Python implementation of the documented algorithm.
        // If this fails, every seeded image changed: the algorithm must not change.
        float[] seed42 = [-0.7262191f, -0.21119691f, 0.2216227f, 0.5227717f, 0.4641773f, 0.7409789f, 1.4762495f, 0.47075912f];
        float[] seed0 = [0.5981026f, 1.46346f, -0.89505255f, -0.18806277f];

        Assert.Equal(seed42, SeededNoise.Create(42, 8));
        Assert.Equal(seed0, SeededNoise.Create(0, 4));
    }

    [Fact]
    public void SameSeedSameValuesDifferentSeedsDiffer()
    {
        float[] a = SeededNoise.Create(123456789, 4096);
        var b = new float[4096];
        SeededNoise.Fill(123456789, b);
        Assert.Equal(a, b);

        float[] other = SeededNoise.Create(123456790, 4096);
        int equal = a.Zip(other).Count(p => p.First == p.Second);
        Assert.True(equal < 4, $"{equal} equal values between neighbouring seeds");
        Assert.NotEqual(SeededNoise.Create(ulong.MaxValue, 16), SeededNoise.Create(0, 16));
    }

    [Fact]
    public void StreamDoesNotDependOnChunking()
    {
        float[] whole = SeededNoise.Create(7, 101);
        var stream = new NoiseStream(7);
        var chunked = new float[101];
        stream.Next(chunked.AsSpan(0, 1));
        stream.Next(chunked.AsSpan(1, 0));
        stream.Next(chunked.AsSpan(1, 3));
        stream.Next(chunked.AsSpan(4, 50));
        stream.Next(chunked.AsSpan(54, 47));
        Assert.Equal(whole, chunked);
        Assert.Equal(7UL, stream.Seed);
    }

    [Fact]
    public void MillionSamplesAreStandardNormal()
    {
        float[] values = SeededNoise.Create(2024, 1_000_000);
        double sum = 0, sumSquares = 0, sumFourth = 0;
        int beyond2 = 0;
        foreach (float v in values)
        {
            Assert.True(float.IsFinite(v));
            sum += v;
            sumSquares += (double)v * v;
            sumFourth += (double)v * v * v * v;
            if (Math.Abs(v) > 2) beyond2++;
        }
        double mean = sum / values.Length;
        double variance = sumSquares / values.Length - mean * mean;
        Assert.InRange(mean, -0.005, 0.005);                 // σ of the mean is 0.001
        Assert.InRange(Math.Sqrt(variance), 0.995, 1.005);
        Assert.InRange(sumFourth / values.Length, 2.95, 3.05); // kurtosis of a normal is 3
        Assert.InRange(beyond2 / (double)values.Length, 0.0445, 0.0465); // P(|z| > 2) = 0.0455
    }

    [Fact]
    public void BatchImagesUseConsecutiveSeeds()
    {
        Assert.Equal(42UL, SeededNoise.SeedForImage(42, 0));
        Assert.Equal(45UL, SeededNoise.SeedForImage(42, 3));
        Assert.Equal(1UL, SeededNoise.SeedForImage(ulong.MaxValue, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeededNoise.SeedForImage(42, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SeededNoise.Create(42, -1));
    }

    [Fact]
    public void PortableLogAgreesWithMathLog()
    {
        double[] probes = [1.0, 0.5, 0.75, 0.7071067811865476, 0.7071067811865475, 1e-30, Math.Pow(2, -104), 0.9999999999999999, 2.5e-7];
        foreach (double x in probes.Concat(Enumerable.Range(1, 10_000).Select(i => i / 10_001.0)))
        {
            double expected = Math.Log(x);
            double actual = NoiseStream.Log(x);
            Assert.True(Math.Abs(actual - expected) <= 4e-16 * Math.Max(1, Math.Abs(expected)), $"log({x:R}) = {actual:R}, Math.Log gives {expected:R}");
        }
    }
}

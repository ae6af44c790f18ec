using System.Diagnostics;

namespace TurboGen.Scheduling;

/// <summary>
/// A seeded stream of standard-normal float32 values that is identical on every OS, CPU and .NET version.
/// <para>Algorithm (frozen; changing it changes every seeded image):
/// the 64-bit seed is expanded by SplitMix64 (four outputs) into the 256-bit state of xoshiro256** (Blackman and
/// Vigna, 2018). A uniform double is <c>(next() &gt;&gt; 11)·2⁻⁵³</c>; Marsaglia's polar method draws
/// u, v = 2·uniform − 1 until 0 &lt; s = u² + v² &lt; 1 and yields the pair u·f, v·f with f = sqrt(−2·ln(s)/s),
/// first u·f then v·f, each rounded to float32. Everything is integer arithmetic or IEEE-754 correctly rounded double
/// operations (+, −, ×, ÷, sqrt); ln is computed here from those operations (exponent split plus an atanh series)
/// rather than by the platform's Math.Log, whose last bit may differ between C runtimes.</para>
/// The stream does not depend on how it is chunked: Next(a) then Next(b) gives the same values as one Next(a+b)
/// (an unused second value of a pair is kept for the next call). Not thread-safe.
/// </summary>
public sealed class NoiseStream
{
    private ulong _s0, _s1, _s2, _s3;
    private bool _hasSpare;
    private float _spare;

    /// <summary>Starts the stream of <paramref name="seed"/> (the same seed gives the same values everywhere).</summary>
    public NoiseStream(ulong seed)
    {
        Seed = seed;
        var splitMix = new SplitMix64(seed);
        _s0 = splitMix.Next();
        _s1 = splitMix.Next();
        _s2 = splitMix.Next();
        _s3 = splitMix.Next();
    }

    /// <summary>The seed the stream started from.</summary>
    public ulong Seed { get; }

    /// <summary>Fills <paramref name="destination"/> with the next standard-normal values of the stream.</summary>
    public void Next(Span<float> destination)
    {
        int i = 0;
        if (_hasSpare && destination.Length > 0)
        {
            destination[i++] = _spare;
            _hasSpare = false;
        }
        while (i < destination.Length)
        {
            (double first, double second) = NextNormalPair();
            destination[i++] = (float)first;
            if (i < destination.Length)
            {
                destination[i++] = (float)second;
            }
            else
            {
                _spare = (float)second;
                _hasSpare = true;
            }
        }
    }

    private (double First, double Second) NextNormalPair()
    {
        double u, v, s;
        do
        {
            u = 2.0 * NextUniform() - 1.0;
            v = 2.0 * NextUniform() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);
        double factor = Math.Sqrt(-2.0 * Log(s) / s);
        return (u * factor, v * factor);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    private double NextUniform() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>xoshiro256** 1.0.</summary>
    private ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>
    /// Natural log of a normal positive double from basic IEEE operations only: x = m·2ᵉ with m in (√½, √2],
    /// ln m = 2·atanh(r), r = (m − 1)/(m + 1), |r| ≤ 0.1716, by its series to r²³ (truncation below 1e-19).
    /// Accurate to a few ulp, and bit-identical everywhere because no platform math library is involved.
    /// </summary>
    internal static double Log(double x)
    {
        Debug.Assert(double.IsNormal(x) && x > 0);
        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000F_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L);
        if (m > Sqrt2)
        {
            m *= 0.5;
            exponent++;
        }
        double r = (m - 1.0) / (m + 1.0);
        double r2 = r * r;
        double series = 1.0 / 23.0;
        for (int k = 21; k >= 1; k -= 2)
        {
            series = series * r2 + 1.0 / k;
        }
        return exponent * Ln2 + 2.0 * r * series;
    }

    private const double Sqrt2 = 1.4142135623730951;
    private const double Ln2 = 0.6931471805599453;
}

namespace TurboGen.Testing;

/// <summary>Deterministic weights for fixtures (xorshift + Box–Muller; independent of the engine's noise generator).</summary>
public sealed class SeededWeights(int seed)
{
    private ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;

    private double NextUniform()
    {
        _state ^= _state << 13;
        _state ^= _state >> 7;
        _state ^= _state << 17;
        return ((_state >> 11) + 0.5) / (1UL << 53);
    }

    public float[] Normal(int count, float std)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = NextUniform(), u2 = NextUniform();
            v[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2) * std);
        }
        return v;
    }
}

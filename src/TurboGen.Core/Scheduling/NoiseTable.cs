namespace TurboGen.Scheduling;

/// <summary>
/// The training noise tables of a DDPM-style model, computed the way diffusers (PyTorch on CPU) computes them in
/// float32: betas, <c>alphas_cumprod = cumprod(1 − betas)</c> and the training sigmas
/// <c>sqrt((1 − ᾱ)/ᾱ)</c>. For the turbo configs the result equals the reference <c>alphas_cumprod</c> bit for bit.
/// </summary>
public sealed class NoiseTable
{
    private readonly float[] _betas;
    private readonly float[] _alphasCumprod;
    private readonly float[] _sigmas;

    /// <summary>Builds the tables from a config's betas (trained_betas, "scaled_linear" or "linear").</summary>
    /// <exception cref="TurboGenException">Unsupported beta_schedule or a trained_betas list of the wrong length.</exception>
    public NoiseTable(SchedulerConfig config)
    {
        int n = config.NumTrainTimesteps;
        if (config.TrainedBetas is { } trained)
        {
            if (trained.Count != n)
            {
                throw new TurboGenException(
                    $"Scheduler config: trained_betas has {trained.Count} values but num_train_timesteps is {n}.");
            }
            _betas = trained.Select(b => (float)b).ToArray();
        }
        else if (config.BetaSchedule == "scaled_linear")
        {
            // torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=float32) ** 2
            _betas = TorchLinspace((float)Math.Sqrt(config.BetaStart), (float)Math.Sqrt(config.BetaEnd), n);
            for (int i = 0; i < n; i++) _betas[i] *= _betas[i];
        }
        else if (config.BetaSchedule == "linear")
        {
            _betas = TorchLinspace((float)config.BetaStart, (float)config.BetaEnd, n);
        }
        else
        {
            throw new TurboGenException(
                $"Unsupported beta_schedule \"{config.BetaSchedule}\"; supported: scaled_linear, linear (or trained_betas).");
        }

        _alphasCumprod = new float[n];
        _sigmas = new float[n];
        // torch.cumprod on CPU accumulates float32 inputs in double and rounds each output to float32.
        double product = 1.0;
        for (int i = 0; i < n; i++)
        {
            product *= 1f - _betas[i];
            float alphaBar = (float)product;
            _alphasCumprod[i] = alphaBar;
            _sigmas[i] = MathF.Sqrt((1f - alphaBar) / alphaBar);
        }
    }

    /// <summary>num_train_timesteps.</summary>
    public int Count => _betas.Length;

    /// <summary>βₜ for t = 0..Count−1 in float32: the config's trained_betas, or its beta_schedule between beta_start and beta_end.</summary>
    public IReadOnlyList<float> Betas => _betas;

    /// <summary>ᾱₜ, float32 as diffusers holds it.</summary>
    public IReadOnlyList<float> AlphasCumprod => _alphasCumprod;

    /// <summary>Training sigmas sqrt((1 − ᾱₜ)/ᾱₜ) in float32, t = 0..Count−1.</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;

    /// <summary>
    /// numpy.interp(t, arange(Count), Sigmas) in double, cast to float32: exact table lookup at integer t, linear in
    /// between, clamped to the first/last sigma outside [0, Count−1].
    /// </summary>
    public float SigmaAt(double t)
    {
        if (double.IsNaN(t)) throw new ArgumentException("timestep is NaN", nameof(t));
        if (t <= 0) return _sigmas[0];
        if (t >= Count - 1) return _sigmas[Count - 1];
        int j = (int)Math.Floor(t);
        if (t == j) return _sigmas[j];
        double slope = (double)_sigmas[j + 1] - _sigmas[j];
        return (float)(slope * (t - j) + _sigmas[j]);
    }

    /// <summary>
    /// torch.linspace(start, end, n, dtype=float32) as PyTorch's CPU kernel produces it, bit for bit. The kernel
    /// computes <c>step = (end − start)/(n − 1)</c> in float32 and fills 8-lane vectors, two per iteration: each vector
    /// starts from <c>start + step·i</c> (first half) or <c>end − step·(n − 1 − i)</c> (second half) and adds
    /// <c>k·step</c> per lane; the remaining n mod 16 elements use the scalar formula. The compiled kernel fuses each
    /// multiply-add, hence <see cref="MathF.FusedMultiplyAdd"/>. A plain <c>start + i·step</c> would differ by one
    /// ulp in about half of the entries (harmless, but then ᾱ no longer matches the reference exactly).
    /// </summary>
    internal static float[] TorchLinspace(float start, float end, int n)
    {
        var result = new float[n];
        if (n == 1)
        {
            result[0] = start;
            return result;
        }
        float step = (end - start) / (n - 1);
        int half = n / 2;
        float Scalar(int i) => i < half
            ? MathF.FusedMultiplyAdd(step, i, start)
            : MathF.FusedMultiplyAdd(-step, n - 1 - i, end);

        const int Lanes = 8;
        int vectorized = n / (2 * Lanes) * (2 * Lanes);
        for (int block = 0; block < vectorized; block += Lanes)
        {
            float laneBase = Scalar(block);
            for (int k = 0; k < Lanes; k++)
            {
                result[block + k] = MathF.FusedMultiplyAdd(k, step, laneBase);
            }
        }
        for (int i = vectorized; i < n; i++)
        {
            result[i] = Scalar(i);
        }
        return result;
    }
}

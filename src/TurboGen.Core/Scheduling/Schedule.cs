namespace TurboGen.Scheduling;

/// <summary>
/// The denoising steps to run: step <c>i</c> feeds <c>Timesteps[i]</c> to the UNet and moves the latent from noise
/// level <c>Sigmas[i]</c> to <c>Sigmas[i + 1]</c>. <see cref="Sigmas"/> has one more entry than <see cref="Timesteps"/>
/// and ends with 0, so the last step returns the predicted clean latent. For LCM and TCD (<see cref="ConsistencySchedulerBase"/>)
/// the timesteps are integers, the sigmas are the training sigmas of those timesteps (for display; their maths uses ᾱ)
/// and <see cref="InitNoiseSigma"/> is 1.
/// </summary>
/// <param name="Timesteps">UNet timesteps, one per step (float32 values as diffusers computes them, e.g. 999, 499).</param>
/// <param name="Sigmas">Noise levels, <c>Timesteps.Count + 1</c> entries, the last 0.</param>
/// <param name="InitNoiseSigma">
/// Standard deviation of the txt2img starting latent (diffusers' <c>init_noise_sigma</c>): multiply N(0,1) noise by it.
/// Always the full schedule's value; image-to-image noises the encoded image with
/// <see cref="IScheduler.AddNoise"/> (which uses <c>Sigmas[0]</c>) instead.
/// </param>
/// <param name="BeginIndex">
/// How many steps of the full <c>steps</c>-step schedule were skipped (diffusers' <c>t_start</c> / begin index):
/// 0 for txt2img, <c>steps − int(steps·strength)</c> for image-to-image (0 for the LCM pipelines' rule, which shortens the
/// distillation schedule instead of skipping steps).
/// </param>
public sealed record Schedule(IReadOnlyList<float> Timesteps, IReadOnlyList<float> Sigmas, float InitNoiseSigma, int BeginIndex)
{
    /// <summary>Number of UNet evaluations (steps) this schedule runs.</summary>
    public int StepCount => Timesteps.Count;
}

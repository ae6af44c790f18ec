using System.Diagnostics;
using TurboGen.Imaging;
using TurboGen.Runtime;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>
/// The optional ControlNet stage of <see cref="TurboPipeline"/>'s denoising loop, for any model family and task. Made once per
/// request: every control image is prepared as diffusers' ControlNet pipelines do (RGB, stretched to the output size with
/// Pillow's Lanczos when it differs, x/255 in [0,1], CHW, repeated to the batch and, with classifier-free guidance, to both
/// halves). Each step, every ControlNet acting at that step (<see cref="ControlInput.ActsAt"/>) runs on the UNet's own input and
/// conditioning (SDXL: text_embeds and time_ids too), its residuals are scaled and summed (MultiControlNet), and the UNet gets them.
/// A ControlNet outside its guidance window contributes zeros and is not run.
/// </summary>
public sealed class ControlStage
{
    private readonly IReadOnlyList<(ControlInput Input, FloatTensor Image)> _controls;

    private ControlStage(IReadOnlyList<(ControlInput, FloatTensor)> controls) => _controls = controls;

    /// <summary>The stage for <paramref name="request"/>, or null when it has no ControlNet. Checks each ControlNet against the model.</summary>
    /// <exception cref="InvalidRequestException">A field is out of range or a ControlNet is for another model family.</exception>
    /// <exception cref="ModelContractException">The model's UNet cannot take ControlNet residuals.</exception>
    public static ControlStage? For(TurboModel model, GenerationRequest request, int width, int height, bool classifierFree, StageTimings timings)
    {
        if (request.Controls.Count == 0) return null;
        var sw = Stopwatch.StartNew();
        var prepared = new List<(ControlInput, FloatTensor)>();
        for (int i = 0; i < request.Controls.Count; i++)
        {
            var control = request.Controls[i];
            control.Validate(i);
            CheckFamily(model, control.ControlNet, $"controlnet[{i}].model");
            model.Unet.CheckResiduals(control.ControlNet.DownResidualCount);
            prepared.Add((control, PrepareImage(control.Image, width, height, request.BatchSize, classifierFree)));
        }
        timings.Add("control.prepare", sw.Elapsed.TotalMilliseconds);
        return new ControlStage(prepared);
    }

    /// <summary>
    /// diffusers' <c>prepare_image</c> for ControlNets: resize to width×height (Lanczos) when the size differs, [0,1] CHW float,
    /// repeated to the batch, doubled for classifier-free guidance (guess mode off).
    /// </summary>
    public static FloatTensor PrepareImage(RgbImage image, int width, int height, int batch, bool classifierFree)
    {
        var sized = LanczosResize.Resize(image, width, height);
        var one = new float[3 * width * height];
        ImageTensors.ToNchw(sized, one, minusOneToOne: false);
        var tensor = new FloatTensor(one, [1, 3, height, width]).RepeatBatch(batch);
        return classifierFree ? FloatTensor.ConcatBatch(tensor, tensor) : tensor;
    }

    /// <summary>The summed residuals for step <paramref name="step"/> of <paramref name="steps"/>, or null when no ControlNet acts at this step.</summary>
    public ControlResiduals? Residuals(FloatTensor unetInput, float timestep, Conditioning cond, int step, int steps, StageTimings timings, CancellationToken ct)
    {
        ControlResiduals? sum = null;
        for (int k = 0; k < _controls.Count; k++)
        {
            var (control, image) = _controls[k];
            if (!control.ActsAt(step, steps)) continue;
            var sw = Stopwatch.StartNew();
            var (residuals, onnx) = control.ControlNet.Predict(unetInput, timestep, cond.EncoderHiddenStates, cond.TextEmbeds, cond.TimeIds, image, control.Scale, ct);
            timings.Add($"controlnet{k}.step{step}", sw.Elapsed.TotalMilliseconds, onnx);
            sum = sum is null ? residuals : sum.Plus(residuals);
        }
        return sum;
    }

    /// <summary>Refuses a ControlNet trained for another model family (SD vs SDXL, or another text-embedding width); <paramref name="field"/> names it in the error.</summary>
    /// <exception cref="InvalidRequestException">The ControlNet does not fit the model.</exception>
    public static void CheckFamily(TurboModel model, IControlNet controlnet, string field)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(controlnet);
        bool xl = model.Family == ModelFamily.Sdxl;
        int unetWidth = model.Unet.CrossAttentionDim, width = controlnet.CrossAttentionDim;
        if (controlnet.UsesTextTime != xl || (unetWidth > 0 && width > 0 && unetWidth != width))
        {
            throw new InvalidRequestException(field,
                $"ControlNet {controlnet.Path} is for {(controlnet.UsesTextTime ? "SDXL" : "SD 1.x/2.x")} with {width}-wide text embeddings, " +
                $"but the model is {(xl ? "SDXL" : "SD")} with {unetWidth}-wide embeddings: use a ControlNet trained for this model family.");
        }
    }
}

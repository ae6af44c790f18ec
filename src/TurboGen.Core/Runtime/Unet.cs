using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>
/// The denoising UNet (MODEL-CONTRACT §2.1–2.3): inputs <c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>
/// and, for SDXL, <c>text_embeds</c> + <c>time_ids</c>, for an LCM-distilled UNet <c>timestep_cond</c> (the guidance-scale
/// embedding, [batch, time_cond_proj_dim]); output <c>out_sample</c> (ε prediction).
/// The timestep is fed as the model declares it: a rank-0 scalar or a [1]/[B] vector, float32, float16 or int64.
/// </summary>
public sealed class Unet : OnnxComponent
{
    private static readonly string[] Required = ["sample", "timestep", "encoder_hidden_states"];
    private readonly string _outputName;

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    public Unet(InferenceSession session, string path) : base("unet", session, path)
    {
        var missing = Required.Where(r => !HasInput(r)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelContractException(path, $"unet at {path} lacks input(s) {string.Join(", ", missing)}; found {DescribeIo()}.");
        }
        _outputName = HasOutput("out_sample") ? "out_sample" : OutputMetadata.Count == 1 ? OutputMetadata.Keys.First()
            : throw new ModelContractException(path, $"unet at {path} has no 'out_sample' output; found {DescribeIo()}.");
        var tsType = InputType("timestep");
        if (tsType is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.Int64 or TensorElementType.Int32))
        {
            throw new ModelContractException(path, $"unet timestep input is {tsType}; expected float32, float16 or int64. Found {DescribeIo()}.");
        }
        if (HasInput("text_embeds") != HasInput("time_ids"))
        {
            throw new ModelContractException(path, $"unet at {path} has only one of text_embeds/time_ids; found {DescribeIo()}.");
        }
        CrossAttentionDim = InputMetadata["encoder_hidden_states"].Dimensions[^1];
        if (HasInput(TimestepCond))
        {
            var dims = InputMetadata[TimestepCond].Dimensions;
            GuidanceEmbeddingDim = dims.Length == 2 && dims[1] >= 4 ? dims[1]
                : throw new ModelContractException(path, $"unet input {TimestepCond} must be [batch, time_cond_proj_dim ≥ 4] with a fixed width; found {DescribeIo()}.");
        }
        while (HasInput(DownResidualPrefix + _downResiduals)) _downResiduals++;
    }

    /// <summary>Input names of a UNet built to take ControlNet residuals (MODEL-CONTRACT §10.2).</summary>
    public const string DownResidualPrefix = "down_block_additional_residual_", MidResidual = "mid_block_additional_residual";

    private readonly int _downResiduals;

    /// <summary>True when the UNet takes ControlNet residuals (<c>down_block_additional_residual_0…</c> and <c>mid_block_additional_residual</c>).</summary>
    public bool AcceptsControlResiduals => _downResiduals > 0 && HasInput(MidResidual);

    /// <summary>Number of down residual inputs (0 without ControlNet support).</summary>
    public int DownResidualCount => _downResiduals;

    /// <summary>Input name of the LCM guidance-scale embedding (Optimum's name for diffusers' <c>timestep_cond</c>).</summary>
    public const string TimestepCond = "timestep_cond";

    /// <summary>Width of the <c>timestep_cond</c> input (the config's time_cond_proj_dim); 0 when the UNet has none.</summary>
    public int GuidanceEmbeddingDim { get; }

    /// <summary>True for an LCM-distilled UNet: guidance comes in through the <c>timestep_cond</c> embedding, never through classifier-free guidance.</summary>
    public bool UsesGuidanceEmbedding => GuidanceEmbeddingDim > 0;

    /// <summary>SDXL-style added conditioning (text_embeds + time_ids).</summary>
    public bool UsesTextTime => HasInput("text_embeds");

    /// <summary>Declared width of encoder_hidden_states (−1 when symbolic).</summary>
    public int CrossAttentionDim { get; }

    /// <summary>Declared channels of <c>sample</c>: 4, or 9 for an inpainting UNet (latents, mask, masked-image latents); 4 when symbolic.</summary>
    public int SampleChannels => InputMetadata["sample"].Dimensions is [_, > 0 and var c, ..] ? c : 4;

    /// <summary>Declared float type of <c>sample</c>.</summary>
    public TensorElementType SampleType => InputType("sample");

    /// <summary>The noise prediction for <paramref name="sample"/> at <paramref name="timestep"/> (with the run's ONNX Runtime time).</summary>
    public Timed<FloatTensor> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds, CancellationToken cancellationToken) =>
        Predict(sample, timestep, encoderHiddenStates, textEmbeds, timeIds, null, cancellationToken);

    /// <summary>
    /// The noise prediction with ControlNet <paramref name="residuals"/> added to the skip connections and the mid block (zeros when
    /// null and the UNet takes residuals). <paramref name="timestepCond"/> is the guidance-scale embedding [batch, <see cref="GuidanceEmbeddingDim"/>]
    /// an LCM-distilled UNet needs (the pipeline computes it with <c>GuidanceEmbedding</c>).
    /// </summary>
    /// <exception cref="ModelContractException">Residuals were given but this UNet has no residual inputs.</exception>
    /// <exception cref="ArgumentException">The UNet takes <c>timestep_cond</c> and none was given, or one was given to a UNet without it.</exception>
    public Timed<FloatTensor> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds,
        ControlResiduals? residuals, CancellationToken cancellationToken, FloatTensor? timestepCond = null)
    {
        if (residuals is not null) CheckResiduals(residuals.Down.Count);
        int batch = (int)sample.Shape[0];
        var names = new List<string> { "sample", "timestep", "encoder_hidden_states" };
        var values = new List<OrtValue>();
        try
        {
            values.Add(FloatInput("sample", sample.Data, sample.Shape));
            values.Add(TimestepValue(timestep, batch));
            values.Add(FloatInput("encoder_hidden_states", encoderHiddenStates.Data, encoderHiddenStates.Shape));
            if (UsesTextTime)
            {
                if (textEmbeds is null || timeIds is null)
                {
                    throw new ArgumentException("SDXL UNet needs text_embeds and time_ids.");
                }
                names.Add("text_embeds");
                values.Add(FloatInput("text_embeds", textEmbeds.Data, textEmbeds.Shape));
                names.Add("time_ids");
                values.Add(FloatInput("time_ids", timeIds.Data, timeIds.Shape));
            }
            if (UsesGuidanceEmbedding)
            {
                if (timestepCond is null)
                {
                    throw new ArgumentException($"This UNet ({Path}) is LCM-distilled: it needs {TimestepCond}, the guidance-scale embedding.", nameof(timestepCond));
                }
                names.Add(TimestepCond);
                values.Add(FloatInput(TimestepCond, timestepCond.Data, timestepCond.Shape));
            }
            else if (timestepCond is not null)
            {
                throw new ArgumentException($"This UNet ({Path}) has no {TimestepCond} input.", nameof(timestepCond));
            }
            if (AcceptsControlResiduals)
            {
                for (int i = 0; i < _downResiduals; i++)
                {
                    names.Add(DownResidualPrefix + i);
                    values.Add(residuals is null ? ZerosFor(DownResidualPrefix + i, sample) : FloatInput(DownResidualPrefix + i, residuals.Down[i].Data, residuals.Down[i].Shape));
                }
                names.Add(MidResidual);
                values.Add(residuals is null ? ZerosFor(MidResidual, sample) : FloatInput(MidResidual, residuals.Mid.Data, residuals.Mid.Shape));
            }
            var (results, milliseconds) = Run(names, values, [_outputName], cancellationToken);
            using (results)
            {
                return new(ReadFloat(results[0]), milliseconds);
            }
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>Throws the "cannot take ControlNet residuals" error unless this UNet takes <paramref name="count"/> down residuals.</summary>
    public void CheckResiduals(int count)
    {
        if (!AcceptsControlResiduals)
        {
            throw new ModelContractException(Path,
                $"This UNet cannot take ControlNet residuals: {Path} has no {DownResidualPrefix}N / {MidResidual} inputs. " +
                $"Build the model from its safetensors checkpoint with ControlNet support (turbogen --controlnet, ModelResolveOptions.ControlNetResiduals). Found {DescribeIo()}.");
        }
        if (count != _downResiduals)
        {
            throw new InvalidRequestException("controlnet", $"The ControlNet gives {count} down residuals but the UNet takes {_downResiduals}: the ControlNet is for another model layout.");
        }
    }

    /// <summary>
    /// Zero residuals for a UNet with residual inputs run without a ControlNet: channels as declared, height/width from the latent
    /// size and the down-sampling factor in the input's symbolic dimension ("height/4": ⌈h/2⌉ per stride-2 convolution).
    /// </summary>
    private OrtValue ZerosFor(string name, FloatTensor sample)
    {
        var meta = InputMetadata[name];
        long channels = meta.Dimensions[1];
        string symbolic = meta.SymbolicDimensions.ElementAtOrDefault(2) ?? "";
        int factor = symbolic == "height" ? 1
            : symbolic.StartsWith("height/", StringComparison.Ordinal) && int.TryParse(symbolic["height/".Length..], out int f) ? f
            : throw new ModelContractException(Path, $"unet input {name} does not say its down-sampling factor (dimension '{symbolic}'); pass ControlNet residuals explicitly.");
        (long h, long w) = (sample.Shape[2], sample.Shape[3]);
        for (int d = factor; d > 1; d /= 2) { h = (h + 1) / 2; w = (w + 1) / 2; }
        return FloatInput(name, new float[sample.Shape[0] * channels * h * w], [sample.Shape[0], channels, h, w]);
    }
}

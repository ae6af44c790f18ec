using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>
/// The denoising UNet (MODEL-CONTRACT §2.1–2.3): inputs <c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>
/// and, for SDXL, <c>text_embeds</c> + <c>time_ids</c>; output <c>out_sample</c> (ε prediction).
/// The timestep is fed as the model declares it: a rank-0 scalar or a [1]/[B] vector, float32, float16 or int64.
/// </summary>
public sealed class Unet : OnnxComponent
{
    private static readonly string[] Required = ["sample", "timestep", "encoder_hidden_states"];
    private readonly string _outputName;

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
    }

    /// <summary>SDXL-style added conditioning (text_embeds + time_ids).</summary>
    public bool UsesTextTime => HasInput("text_embeds");

    /// <summary>Declared width of encoder_hidden_states (−1 when symbolic).</summary>
    public int CrossAttentionDim { get; }

    /// <summary>Declared float type of <c>sample</c>.</summary>
    public TensorElementType SampleType => InputType("sample");

    /// <summary>The noise prediction for <paramref name="sample"/> at <paramref name="timestep"/> (with the run's ONNX Runtime time).</summary>
    public Timed<FloatTensor> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds, CancellationToken cancellationToken)
    {
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

    private OrtValue TimestepValue(float t, int batch)
    {
        var meta = InputMetadata["timestep"];
        long[] shape = meta.Dimensions.Length == 0 ? [] : [meta.Dimensions[0] == 1 ? 1 : batch];
        int n = shape.Length == 0 ? 1 : (int)shape[0];
        return meta.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(t, n).ToArray(), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((Float16)t, n).ToArray(), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)MathF.Round(t), n).ToArray(), shape),
            _ => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((int)MathF.Round(t), n).ToArray(), shape),
        };
    }
}

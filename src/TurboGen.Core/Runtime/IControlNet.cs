using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>
/// What a generation needs of a ControlNet: its shape facts (checked against the model) and its prediction. <see cref="ControlNet"/>
/// is the loaded ONNX model; a scale-out gateway names a worker's ControlNet with a description that has no weights (it never predicts).
/// </summary>
public interface IControlNet
{
    /// <summary>Where it was loaded from, or what it is named (in messages).</summary>
    string Path { get; }

    /// <summary>SDXL ControlNet (takes text_embeds + time_ids).</summary>
    bool UsesTextTime { get; }

    /// <summary>The width of the text embeddings it takes (0 when unknown).</summary>
    int CrossAttentionDim { get; }

    /// <summary>How many down residuals it outputs.</summary>
    int DownResidualCount { get; }

    /// <summary>The residuals for this step, already multiplied by <paramref name="scale"/>.</summary>
    Timed<ControlResiduals> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds,
        FloatTensor controlImage, float scale, CancellationToken cancellationToken);
}

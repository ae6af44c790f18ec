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

    /// <summary>
    /// Its short name (in image metadata and on the job queue): by default <see cref="NameOf"/> its <see cref="Path"/>; a
    /// description without weights (a scale-out gateway's) carries the name its worker lists.
    /// </summary>
    string Name => NameOf(Path);

    /// <summary>The file name without extension, or for a folder's <c>model.onnx</c> the folder's name.</summary>
    static string NameOf(string path)
    {
        string trimmed = path.TrimEnd('/', '\\');
        string name = System.IO.Path.GetFileNameWithoutExtension(trimmed);
        return name == "model" && System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(trimmed)) is { Length: > 0 } folder ? folder : name;
    }

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

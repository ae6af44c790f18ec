using TurboGen.Imaging;
using TurboGen.Tensors;

namespace TurboGen.Pipelines;

/// <summary>One timed stage of a generation. <paramref name="OnnxMilliseconds"/> is the part spent inside ONNX Runtime.</summary>
public sealed record StageTiming(string Stage, double Milliseconds, double OnnxMilliseconds);

/// <summary>Per-stage timings of one generation (tokenize, encode, unet.step0…, vae_encode, decode).</summary>
public sealed class StageTimings
{
    private readonly List<StageTiming> _stages = [];

    /// <summary>Every stage in the order it was recorded (a stage name may repeat, e.g. per image).</summary>
    public IReadOnlyList<StageTiming> Stages => _stages;

    /// <summary>Records a stage that took <paramref name="ms"/> milliseconds, <paramref name="onnxMs"/> of them inside ONNX Runtime.</summary>
    public void Add(string stage, double ms, double onnxMs = 0) => _stages.Add(new StageTiming(stage, ms, onnxMs));

    /// <summary>The sum of every stage's milliseconds.</summary>
    public double TotalMilliseconds => _stages.Sum(s => s.Milliseconds);

    /// <summary>The sum of every stage's ONNX Runtime milliseconds.</summary>
    public double OnnxMilliseconds => _stages.Sum(s => s.OnnxMilliseconds);

    /// <summary>The milliseconds of every stage named <paramref name="stage"/>, summed (0 when there is none).</summary>
    public double this[string stage] => _stages.Where(s => s.Stage == stage).Sum(s => s.Milliseconds);

    /// <summary>The stages as "name 12.3 ms, …".</summary>
    public override string ToString() => string.Join(", ", _stages.Select(s => $"{s.Stage} {s.Milliseconds:F1} ms"));
}

/// <summary>The outcome of a generation: images (unless latents-only), the seeds used, the final latents and timings.</summary>
public sealed record GenerationResult(
    IReadOnlyList<RgbImage> Images,
    IReadOnlyList<long> Seeds,
    FloatTensor Latents,
    StageTimings Timings,
    int Width,
    int Height,
    bool PromptTruncated,
    GenerationRequest Request,
    string Sampler);

/// <summary>A progress event: the stage, step i of n, time since start, and optionally a preview of the current x0.</summary>
public sealed record GenerationProgress(string Stage, int Step, int TotalSteps, TimeSpan Elapsed, RgbImage? Preview = null);

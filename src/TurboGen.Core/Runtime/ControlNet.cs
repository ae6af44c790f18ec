using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>The residuals a ControlNet adds to the UNet: one per skip connection (in skip order) and one for the mid block.</summary>
public sealed record ControlResiduals(IReadOnlyList<FloatTensor> Down, FloatTensor Mid)
{
    /// <summary>The element-wise sum of two ControlNets' residuals (diffusers' MultiControlNetModel).</summary>
    public ControlResiduals Plus(ControlResiduals other)
    {
        if (other.Down.Count != Down.Count)
        {
            throw new InvalidRequestException("controlnet", $"ControlNets of different UNet layouts cannot be combined ({Down.Count} vs {other.Down.Count} residuals).");
        }
        return new ControlResiduals(Down.Select((d, i) => Sum(d, other.Down[i])).ToList(), Sum(Mid, other.Mid));
    }

    private static FloatTensor Sum(FloatTensor a, FloatTensor b)
    {
        if (!a.Shape.SequenceEqual(b.Shape)) throw new InvalidRequestException("controlnet", $"ControlNet residual shapes differ: {a} vs {b}.");
        var data = new float[a.Length];
        for (int i = 0; i < data.Length; i++) data[i] = a.Data[i] + b.Data[i];
        return new FloatTensor(data, a.Shape);
    }
}

/// <summary>
/// A ControlNet (MODEL-CONTRACT §10): inputs <c>sample</c>, <c>timestep</c>, <c>encoder_hidden_states</c>, <c>controlnet_cond</c>
/// (the control image, [B,3,8h,8w] in [0,1]), optional <c>conditioning_scale</c> (rank 0; when absent the outputs are scaled here)
/// and, for SDXL ControlNets, <c>text_embeds</c> + <c>time_ids</c>; outputs: the down residuals (names ending in their index,
/// e.g. <c>down_block_res_sample_0</c>, taken in index order) and one mid residual (a name containing "mid").
/// </summary>
public sealed partial class ControlNet : OnnxComponent, IControlNet
{
    private static readonly string[] Required = ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"];
    private readonly string[] _downOutputs;
    private readonly string _midOutput;

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    public ControlNet(InferenceSession session, string path) : base("controlnet", session, path)
    {
        var missing = Required.Where(r => !HasInput(r)).ToList();
        if (missing.Count > 0)
        {
            throw new ModelContractException(path, $"controlnet at {path} lacks input(s) {string.Join(", ", missing)}; found {DescribeIo()}.");
        }
        _downOutputs = OutputMetadata.Keys
            .Select(n => (Name: n, Match: IndexedDown().Match(n)))
            .Where(x => x.Match.Success)
            .OrderBy(x => int.Parse(x.Match.Groups[1].Value))
            .Select(x => x.Name).ToArray();
        _midOutput = OutputMetadata.Keys.SingleOrDefault(n => n.Contains("mid", StringComparison.OrdinalIgnoreCase)) ?? "";
        if (_downOutputs.Length == 0 || _midOutput.Length == 0)
        {
            throw new ModelContractException(path, $"controlnet at {path} must output indexed down residuals (down_block_res_sample_0 …) and one mid residual (mid_block_res_sample); found {DescribeIo()}.");
        }
        if (HasInput("text_embeds") != HasInput("time_ids"))
        {
            throw new ModelContractException(path, $"controlnet at {path} has only one of text_embeds/time_ids; found {DescribeIo()}.");
        }
        CrossAttentionDim = InputMetadata["encoder_hidden_states"].Dimensions[^1];
    }

    /// <summary>Loads a ControlNet ONNX file (see <c>Building.ControlNetResolver</c> for checkpoints).</summary>
    public static ControlNet Load(string modelPath, RuntimeOptions? options = null)
    {
        modelPath = System.IO.Path.GetFullPath(modelPath);
        if (!File.Exists(modelPath)) throw new ModelLoadException(modelPath, $"ControlNet model not found: {modelPath} (expected a model.onnx).");
        options ??= new RuntimeOptions();
        return new ControlNet(SessionFactory.Create(modelPath, options), modelPath) { ReleaseMemoryAfterRun = options.ReleaseMemoryAfterRun };
    }

    /// <summary>SDXL ControlNet (takes text_embeds + time_ids).</summary>
    public bool UsesTextTime => HasInput("text_embeds");

    /// <summary>Declared width of encoder_hidden_states (−1 when symbolic).</summary>
    public int CrossAttentionDim { get; }

    /// <summary>Number of down residuals (the UNet's skip connections).</summary>
    public int DownResidualCount => _downOutputs.Length;

    /// <summary>The residuals for this step, already multiplied by <paramref name="scale"/>.</summary>
    public Timed<ControlResiduals> Predict(FloatTensor sample, float timestep, FloatTensor encoderHiddenStates, FloatTensor? textEmbeds, FloatTensor? timeIds,
        FloatTensor controlImage, float scale, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            void Add(string name, OrtValue value) { names.Add(name); values.Add(value); }
            Add("sample", FloatInput("sample", sample.Data, sample.Shape));
            Add("timestep", TimestepValue(timestep, (int)sample.Shape[0]));
            Add("encoder_hidden_states", FloatInput("encoder_hidden_states", encoderHiddenStates.Data, encoderHiddenStates.Shape));
            Add("controlnet_cond", FloatInput("controlnet_cond", controlImage.Data, controlImage.Shape));
            bool scaledInGraph = HasInput("conditioning_scale");
            if (scaledInGraph) Add("conditioning_scale", FloatInput("conditioning_scale", [scale], InputRank("conditioning_scale") == 0 ? [] : [1]));
            if (UsesTextTime)
            {
                if (textEmbeds is null || timeIds is null) throw new ArgumentException("SDXL ControlNet needs text_embeds and time_ids.");
                Add("text_embeds", FloatInput("text_embeds", textEmbeds.Data, textEmbeds.Shape));
                Add("time_ids", FloatInput("time_ids", timeIds.Data, timeIds.Shape));
            }
            var (results, milliseconds) = Run(names, values, [.. _downOutputs, _midOutput], cancellationToken);
            using (results)
            {
                var outputs = results.Select(r => Scaled(ReadFloat(r), scaledInGraph ? 1f : scale)).ToList();
                return new(new ControlResiduals(outputs.Take(_downOutputs.Length).ToList(), outputs[^1]), milliseconds);
            }
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static FloatTensor Scaled(FloatTensor t, float scale)
    {
        if (scale == 1f) return t;
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] *= scale;
        return t;
    }

    [GeneratedRegex(@"down.*?_?(\d+)$", RegexOptions.IgnoreCase)]
    private static partial Regex IndexedDown();
}

using Microsoft.ML.OnnxRuntime;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>What a VAE encoder returns: the distribution parameters (Optimum ≥ 1.23) or an already sampled latent (older exports).</summary>
public sealed record VaeEncoding(FloatTensor Mean, FloatTensor? LogVar);

/// <summary>
/// VAE encoder: <c>sample</c> [B,3,H,W] in [-1,1] → <c>latent_parameters</c> [B,8,h,w] (mean ‖ logvar) or
/// <c>latent_sample</c> [B,4,h,w] (older Optimum/Olive: sampled inside the graph).
/// </summary>
public sealed class VaeEncoder : OnnxComponent
{
    private readonly string _output;

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="name">The component's name in messages and timings (e.g. "text_encoder_2", "vae_decoder", "tiny_vae_decoder").</param>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    public VaeEncoder(string name, InferenceSession session, string path) : base(name, session, path)
    {
        if (!HasInput("sample"))
        {
            throw new ModelContractException(path, $"{name} at {path}: expected input 'sample'; found {DescribeIo()}.");
        }
        _output = HasOutput("latent_parameters") ? "latent_parameters" : HasOutput("latent_sample") ? "latent_sample"
            : throw new ModelContractException(path, $"{name} at {path}: expected output 'latent_parameters' or 'latent_sample'; found {DescribeIo()}.");
    }

    /// <summary>True when the model outputs <c>latent_parameters</c> (mean ‖ logvar, [B,8,h,w]); false for an older export whose <c>latent_sample</c> [B,4,h,w] is already sampled.</summary>
    public bool OutputsParameters => _output == "latent_parameters";

    /// <summary>Encodes an image [B,3,H,W] in [-1,1] (with the run's ONNX Runtime time).</summary>
    public Timed<VaeEncoding> Encode(FloatTensor image, CancellationToken cancellationToken)
    {
        using var input = FloatInput("sample", image.Data, image.Shape);
        var (results, milliseconds) = Run(["sample"], [input], [_output], cancellationToken);
        FloatTensor raw;
        using (results)
        {
            raw = ReadFloat(results[0]);
        }
        return new(Split(raw), milliseconds);
    }

    /// <summary>The encoder's output as a <see cref="VaeEncoding"/>: a sampled latent as it is, or distribution parameters split in two.</summary>
    private VaeEncoding Split(FloatTensor raw)
    {
        if (!OutputsParameters)
        {
            return new VaeEncoding(raw, null);
        }
        // Split channels: [B, 2C, h, w] → mean [B,C,h,w], logvar [B,C,h,w].
        long b = raw.Shape[0], c2 = raw.Shape[1], h = raw.Shape[2], w = raw.Shape[3];
        long c = c2 / 2, plane = c * h * w;
        var mean = new float[b * plane];
        var logvar = new float[b * plane];
        for (long i = 0; i < b; i++)
        {
            Array.Copy(raw.Data, i * 2 * plane, mean, i * plane, plane);
            Array.Copy(raw.Data, i * 2 * plane + plane, logvar, i * plane, plane);
        }
        return new VaeEncoding(new FloatTensor(mean, [b, c, h, w]), new FloatTensor(logvar, [b, c, h, w]));
    }
}

using Microsoft.ML.OnnxRuntime;
using TurboGen.Tensors;

namespace TurboGen.Runtime;

/// <summary>VAE decoder (full AutoencoderKL or tiny TAESD): <c>latent_sample</c> [B,4,h,w] → <c>sample</c> [B,3,8h,8w].</summary>
public sealed class VaeDecoder : OnnxComponent
{
    private readonly string _input;
    private readonly string _output;

    /// <summary>Wraps a loaded session after checking it against the contract above; a mismatch throws
    /// <see cref="ModelContractException"/> naming <paramref name="path"/> and listing the session's inputs and outputs.</summary>
    /// <param name="name">The component's name in messages and timings (e.g. "text_encoder_2", "vae_decoder", "tiny_vae_decoder").</param>
    /// <param name="session">The loaded session (owned from now on).</param>
    /// <param name="path">The model.onnx file (for messages).</param>
    public VaeDecoder(string name, InferenceSession session, string path) : base(name, session, path)
    {
        _input = HasInput("latent_sample") ? "latent_sample" : InputMetadata.Count == 1 ? InputMetadata.Keys.First()
            : throw new ModelContractException(path, $"{name} at {path}: expected input 'latent_sample'; found {DescribeIo()}.");
        _output = HasOutput("sample") ? "sample" : OutputMetadata.Count == 1 ? OutputMetadata.Keys.First()
            : throw new ModelContractException(path, $"{name} at {path}: expected output 'sample'; found {DescribeIo()}.");
    }

    /// <summary>Decodes latents to pixels (with the run's ONNX Runtime time).</summary>
    public Timed<FloatTensor> Decode(FloatTensor latents, CancellationToken cancellationToken)
    {
        using var input = FloatInput(_input, latents.Data, latents.Shape);
        var (results, milliseconds) = Run([_input], [input], [_output], cancellationToken);
        using (results)
        {
            return new(ReadFloat(results[0]), milliseconds);
        }
    }
}

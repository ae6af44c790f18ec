using Microsoft.ML.OnnxRuntime;
using TurboGen.Graphs;

namespace TurboGen.Core.Tests.Graphs;

/// <summary>Runs built VAE / TAESD graphs on ONNX Runtime (CPU) for the autoencoder tests.</summary>
internal static class AutoencoderTestSupport
{
    public static InferenceSession Session(GraphBuilder graph) => new(graph.ToBytes(), new SessionOptions());

    public static InferenceSession Session(string modelPath) => new(modelPath, new SessionOptions());

    /// <summary>Runs a single-input graph and returns the named output with its shape.</summary>
    public static (float[] Data, long[] Shape) Run(InferenceSession session, string inputName, float[] input, long[] shape, string outputName)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [inputName], [value], [outputName]);
        var output = results[0];
        return (output.GetTensorDataAsSpan<float>().ToArray(), output.GetTensorTypeAndShape().Shape);
    }

    /// <summary>Channels [from, to) of an NCHW tensor.</summary>
    public static float[] Channels(float[] data, long[] shape, int from, int to)
    {
        long n = shape[0], c = shape[1], hw = shape[2] * shape[3];
        var result = new float[n * (to - from) * hw];
        long k = 0;
        for (long b = 0; b < n; b++)
        {
            for (long ch = from; ch < to; ch++)
            {
                Array.Copy(data, (b * c + ch) * hw, result, k, hw);
                k += hw;
            }
        }
        return result;
    }

    /// <summary>The dims of an ORT input/output as text ("batch,4,latent_height,latent_width"), symbolic names where dynamic.</summary>
    public static string Dims(NodeMetadata meta) =>
        string.Join(",", meta.Dimensions.Select((d, i) => d >= 0 ? d.ToString() : meta.SymbolicDimensions[i]));
}

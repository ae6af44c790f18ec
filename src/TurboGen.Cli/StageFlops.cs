using Onnx;
using TurboGen.Graphs;
using TurboGen.Runtime;

namespace TurboGen.Cli;

/// <summary>
/// The FLOPs of each benchmark stage, counted on the component's <c>model.onnx</c> by <see cref="GraphFlops"/> at the shapes
/// the benchmark feeds it: text encoders [B,77] token ids; the UNet a [B',C,H/8,W/8] sample (B' = 2B with classifier-free
/// guidance), [B',77,width] text states, [B',P] pooled embeddings and [B',6] time ids; the VAE decoders a [1,4,H/8,W/8] latent
/// (one image at a time). Stage names are the pipeline's (<c>encode.text_encoder</c>, <c>unet.step0</c>, <c>decode.vae</c>, …).
/// </summary>
internal static class StageFlops
{
    public const int SequenceLength = 77;

    public static Dictionary<string, FlopCount> Count(TurboModel model, int width, int height, int batch, bool guidance)
    {
        var result = new Dictionary<string, FlopCount>(StringComparer.Ordinal);
        int latentH = height / 8, latentW = width / 8;
        result["encode.text_encoder"] = CountComponent(model.TextEncoder.Path, batch, latentH, latentW);
        if (model.TextEncoder2 is { } te2) result["encode.text_encoder_2"] = CountComponent(te2.Path, batch, latentH, latentW);
        result["unet"] = CountComponent(model.Unet.Path, guidance ? 2 * batch : batch, latentH, latentW);
        result["decode.vae"] = CountComponent(model.VaeDecoder.Path, 1, latentH, latentW);
        if (model.TinyVaeDecoder is { } tiny) result["decode.tiny_vae"] = CountComponent(tiny.Path, 1, latentH, latentW);
        return result;
    }

    /// <summary>The count for a pipeline stage name (every <c>unet.stepN</c> is one UNet evaluation), or null.</summary>
    public static FlopCount? ForStage(IReadOnlyDictionary<string, FlopCount> counts, string stage) =>
        counts.GetValueOrDefault(stage.StartsWith("unet.step", StringComparison.Ordinal) ? "unet" : stage);

    private static FlopCount CountComponent(string modelPath, int batch, long latentH, long latentW)
    {
        ModelProto model;
        using (var stream = File.OpenRead(modelPath))
        {
            model = ModelProto.Parser.ParseFrom(stream);
        }
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            var declared = input.Type?.TensorType?.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue : -1).ToArray() ?? [];
            long Fixed(int i, long fallback) => i < declared.Length && declared[i] > 0 ? declared[i] : fallback;
            shapes[input.Name] = input.Name switch
            {
                "input_ids" => [batch, SequenceLength],
                "sample" or "latent_sample" => [batch, Fixed(1, 4), latentH, latentW],
                "encoder_hidden_states" => [batch, SequenceLength, Fixed(2, 1024)],
                "text_embeds" => [batch, Fixed(1, 1280)],
                "time_ids" => [batch, Fixed(1, 6)],
                "timestep" => declared.Length == 0 ? [] : [batch],
                _ => declared.Select((d, i) => d > 0 ? d : i == 0 ? batch : 1).ToArray(),
            };
        }
        return GraphFlops.Count(model, shapes);
    }
}

using System.Text.RegularExpressions;
using TurboGen.Graphs.Architectures.Clip;
using TurboGen.Weights;

namespace TurboGen.Checkpoints;

/// <summary>Where each transformers CLIP text-model tensor lives in a single file: CLIP-L under a prefix, or an OpenCLIP text tower (the rules in <see cref="SingleFileLayout"/>'s remarks).</summary>
internal static partial class SingleFileClipNames
{
    /// <summary>
    /// transformers-named CLIP stored under a prefix (SDXL's and SD 1.x's CLIP-L): the same names, or with
    /// <paramref name="withoutTextModel"/> the names older transformers versions saved, without the <c>text_model.</c> level
    /// (<c>cond_stage_model.transformer.encoder.layers.0.…</c>, as in early SD 1.x fine-tunes).
    /// </summary>
    public static List<(TensorMapping Mapping, long[] Shape)> ClipL(ClipTextConfig config, string prefix, bool withoutTextModel = false) =>
        ClipTextModel.ExpectedTensors(config, config.HasProjection)
            .Select(t => (new TensorMapping(t.Name, prefix + (withoutTextModel ? WithoutTextModel(t.Name) : t.Name)), t.Shape))
            .ToList();

    /// <summary>A transformers CLIP name without its <c>text_model.</c> level (names outside it are unchanged).</summary>
    public static string WithoutTextModel(string name) =>
        name.StartsWith(TextModel, StringComparison.Ordinal) ? name[TextModel.Length..] : name;

    private const string TextModel = "text_model.";

    private static readonly Dictionary<string, string> OpenClipTopLevel = new(StringComparer.Ordinal)
    {
        ["text_model.embeddings.token_embedding.weight"] = "token_embedding.weight",
        ["text_model.embeddings.position_embedding.weight"] = "positional_embedding",
        ["text_model.final_layer_norm.weight"] = "ln_final.weight",
        ["text_model.final_layer_norm.bias"] = "ln_final.bias",
    };

    private static readonly Dictionary<string, string> OpenClipLayerModules = new(StringComparer.Ordinal)
    {
        ["self_attn.out_proj"] = "attn.out_proj",
        ["layer_norm1"] = "ln_1",
        ["layer_norm2"] = "ln_2",
        ["mlp.fc1"] = "mlp.c_fc",
        ["mlp.fc2"] = "mlp.c_proj",
    };

    private static readonly string[] FusedParts = ["q_proj", "k_proj", "v_proj"];

    /// <summary>An OpenCLIP text tower (open_clip naming, fused attention input projection) read as a transformers CLIP text model.</summary>
    public static List<(TensorMapping Mapping, long[] Shape)> OpenClip(ClipTextConfig config, string prefix)
    {
        var list = new List<(TensorMapping, long[])>();
        foreach (var (name, shape) in ClipTextModel.ExpectedTensors(config, config.HasProjection))
        {
            list.Add((OpenClipMapping(name, prefix), shape));
        }
        return list;
    }

    private static TensorMapping OpenClipMapping(string name, string prefix)
    {
        if (OpenClipTopLevel.TryGetValue(name, out string? top)) return new(name, prefix + top);
        if (name == "text_projection.weight") return new(name, prefix + "text_projection", TensorTransform.Transpose);
        var m = ClipLayerPattern().Match(name);
        if (!m.Success) throw new InvalidOperationException($"No single-file rule for CLIP key '{name}'.");
        string layer = $"{prefix}transformer.resblocks.{m.Groups[1].Value}.";
        string module = m.Groups[2].Value, param = m.Groups[3].Value;
        int part = Array.IndexOf(FusedParts, module.StartsWith("self_attn.", StringComparison.Ordinal) ? module["self_attn.".Length..] : "");
        if (part >= 0)
        {
            return TensorMapping.ChunkOf(name, $"{layer}attn.in_proj_{param}", part, FusedParts.Length);
        }
        return OpenClipLayerModules.TryGetValue(module, out string? ldm)
            ? new(name, $"{layer}{ldm}.{param}")
            : throw new InvalidOperationException($"No single-file rule for CLIP key '{name}'.");
    }

    [GeneratedRegex(@"^text_model\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex ClipLayerPattern();
}

using System.Text.Json;
using System.Text.Json.Serialization;
using TurboGen.Imaging;

namespace TurboGen.Pipelines;

/// <summary>
/// What is embedded in a saved PNG so the image can be reproduced: an AUTOMATIC1111-style <c>parameters</c>
/// infotext (read by A1111, ComfyUI, civitai, ...) and TurboGen's own JSON (<c>turbogen</c> chunk).
/// </summary>
public static class GenerationMetadata
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// The fields of image <paramref name="index"/> of a result, as they were used: without guidance
    /// (<see cref="GenerationRequest.UsesGuidance"/> false) the negative prompt played no part and is recorded empty, and
    /// the guidance scale is recorded as 1 (conditional prediction only — what A1111 and diffusers do at CFG 1; A1111 at
    /// "CFG scale: 0" would return the unconditional prediction instead).
    /// </summary>
    public static GenerationRecord Record(GenerationResult result, int index, string model)
    {
        var r = result.Request;
        bool guided = r.UsesGuidance;
        return new GenerationRecord(
            r.Prompt, guided ? r.NegativePrompt : "", result.Seeds[index], r.Steps, guided ? r.GuidanceScale : 1f, result.Width, result.Height,
            result.Sampler, model, r.IsImageToImage ? r.Strength : null, r.UseTinyVae ? "tiny" : "full", result.PromptTruncated);
    }

    /// <summary>The PNG metadata of image <paramref name="index"/>: the A1111 <c>parameters</c> infotext and the <c>turbogen</c> JSON of its <see cref="Record"/>; <paramref name="model"/> is the model name written into both.</summary>
    public static ImageMetadata For(GenerationResult result, int index, string model)
    {
        var rec = Record(result, index, model);
        var extra = new Dictionary<string, string> { ["VAE"] = rec.Vae == "tiny" ? "TAESD" : "full" };
        string parameters = Infotext.Format(new InfotextFields(rec.Prompt, rec.NegativePrompt, rec.Steps, rec.Sampler,
            rec.GuidanceScale, rec.Seed, rec.Width, rec.Height, model, rec.Strength, extra));
        return new ImageMetadata(parameters, JsonSerializer.Serialize(rec, Json));
    }

    /// <summary>Reads a <c>turbogen</c> JSON chunk back (snake_case fields); null for the JSON literal null, <see cref="JsonException"/> for malformed JSON.</summary>
    public static GenerationRecord? ParseJson(string json) => JsonSerializer.Deserialize<GenerationRecord>(json, Json);
}

/// <summary>The reproducible parameters of one generated image (serialised as the PNG's <c>turbogen</c> JSON).</summary>
public sealed record GenerationRecord(
    string Prompt, string NegativePrompt, long Seed, int Steps, float GuidanceScale, int Width, int Height,
    string Sampler, string Model, float? Strength, string Vae, bool PromptTruncated);

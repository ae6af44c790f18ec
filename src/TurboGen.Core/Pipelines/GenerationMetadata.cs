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

    private const string DenoisingStrengthKey = "Denoising strength";

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

    /// <summary>
    /// The PNG metadata of image <paramref name="index"/>: the A1111 <c>parameters</c> infotext and the <c>turbogen</c> JSON of
    /// its <see cref="Record"/>; <paramref name="model"/> is the model name written into both. The infotext's further fields are
    /// the request's own (<see cref="RequestFields"/>: VAE, inpainting, ControlNets), then <paramref name="frontEndFields"/>:
    /// what a front end knows beyond the request (A1111's hires pass, its ControlNet units' preprocessors), replacing a
    /// request field of the same key; a front end's <c>Denoising strength</c> (A1111's hires pass) is the infotext's.
    /// </summary>
    public static ImageMetadata For(GenerationResult result, int index, string model, IReadOnlyDictionary<string, string>? frontEndFields = null)
    {
        var rec = Record(result, index, model);
        var extra = RequestFields(result.Request, rec.Vae);
        float? strength = rec.Strength;
        foreach (var (key, value) in frontEndFields ?? new Dictionary<string, string>())
        {
            if (key == DenoisingStrengthKey && float.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float s)) strength = s;
            else extra[key] = value;
        }
        string parameters = Infotext.Format(new InfotextFields(rec.Prompt, rec.NegativePrompt, rec.Steps, rec.Sampler,
            rec.GuidanceScale, rec.Seed, rec.Width, rec.Height, model, strength, extra));
        return new ImageMetadata(parameters, JsonSerializer.Serialize(rec, Json));
    }

    /// <summary>
    /// The infotext fields a request implies, under A1111's keys: <c>VAE</c>; for inpainting <c>Mask blur</c>, <c>Masked
    /// content</c>, <c>Mask mode</c> (when inverted) and, for "only masked", <c>Inpaint area</c> and <c>Masked area padding</c>;
    /// for each ControlNet <c>ControlNet i</c> as the ControlNet extension writes a unit (<c>Model: …, Weight: …, Guidance Start:
    /// …, Guidance End: …</c>; the preprocessor is a front end's to add, it ran before the request).
    /// </summary>
    public static Dictionary<string, string> RequestFields(GenerationRequest request, string vae)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var fields = new Dictionary<string, string> { ["VAE"] = vae == "tiny" ? "TAESD" : "full" };
        if (request.Mask is { } mask)
        {
            fields["Mask blur"] = mask.Blur.ToString(c);
            fields["Masked content"] = mask.Fill switch
            {
                InpaintFill.Fill => "fill",
                InpaintFill.LatentNoise => "latent noise",
                InpaintFill.LatentNothing => "latent nothing",
                _ => "original",
            };
            if (mask.Invert) fields["Mask mode"] = "Inpaint not masked";
            if (mask.FullResolution)
            {
                fields["Inpaint area"] = "Only masked";
                fields["Masked area padding"] = mask.Padding.ToString(c);
            }
        }
        for (int i = 0; i < request.Controls.Count; i++)
        {
            var control = request.Controls[i];
            fields[$"ControlNet {i}"] = string.Create(c,
                $"Model: {control.ControlNet.Name}, Weight: {control.Scale}, Guidance Start: {control.GuidanceStart}, Guidance End: {control.GuidanceEnd}");
        }
        return fields;
    }

    /// <summary>Reads a <c>turbogen</c> JSON chunk back (snake_case fields); null for the JSON literal null, <see cref="JsonException"/> for malformed JSON.</summary>
    public static GenerationRecord? ParseJson(string json) => JsonSerializer.Deserialize<GenerationRecord>(json, Json);
}

/// <summary>The reproducible parameters of one generated image (serialised as the PNG's <c>turbogen</c> JSON).</summary>
public sealed record GenerationRecord(
    string Prompt, string NegativePrompt, long Seed, int Steps, float GuidanceScale, int Width, int Height,
    string Sampler, string Model, float? Strength, string Vae, bool PromptTruncated);
